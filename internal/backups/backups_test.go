package backups

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestName(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	for path, want := range map[string]string{
		"/var/log/app.log": "/var/log/app-2026-01-02T03-04-05.678.log",
		"app":              "app-2026-01-02T03-04-05.678",
		"d/app.json.log":   "d/app.json-2026-01-02T03-04-05.678.log",
	} {
		if got := Name(path, at); got != want {
			t.Errorf("Name(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t2 := t1.Add(time.Millisecond)
	t3 := t1.Add(time.Hour)
	for _, name := range []string{
		"app.log",
		Name(path, t3),
		Name(path, t1) + ".gz",
		Name(path, t2),
		Name(path, t2) + ".gz",            // an interrupted compression: both forms
		"app-2026-01-02T03-04-05.000.txt", // another extension
		"app-not-a-time.log",
		"other-2026-01-02T03-04-05.000.log",
		Name(path, t1) + ".gz.tmp",
	} {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(Name(path, t3.Add(time.Hour)), 0o755); err != nil { // not a regular file
		t.Fatal(err)
	}
	got, err := List(path, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	want := []Backup{
		{Time: t1, GZ: Name(path, t1) + ".gz"},
		{Time: t2, Plain: Name(path, t2), GZ: Name(path, t2) + ".gz"},
		{Time: t3, Plain: Name(path, t3)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List =\n%+v\nwant\n%+v", got, want)
	}
}

func TestListMissingDir(t *testing.T) {
	if _, err := List(filepath.Join(t.TempDir(), "none", "app.log"), time.UTC); err == nil {
		t.Fatal("List of a missing directory: no error")
	}
}

func TestListRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	name := Name("app.log", at)
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := List("app.log", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Backup{{Time: at, Plain: name}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %+v, want %+v", got, want)
	}
}

func TestListLocation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	east := time.FixedZone("east", 3*3600)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, east)
	if err := os.WriteFile(Name(path, at), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A name written in local time is read back as the same instant only
	// in that location.
	for _, tc := range []struct {
		loc  *time.Location
		same bool
	}{{east, true}, {time.UTC, false}} {
		got, err := List(path, tc.loc)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Time.Equal(at) != tc.same {
			t.Errorf("List in %v = %+v; same instant as %v: want %v", tc.loc, got, at, tc.same)
		}
	}
}
