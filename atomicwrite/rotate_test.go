package atomicwrite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
)

func TestRotateBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	clock := newFakeClock()
	f := mustOpen(t, path, WithMaxSize(1000), WithClock(clock.Now), WithPerm(0o600))
	for i := range 10 {
		if _, err := f.Write(record(1, i, 300)); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := logcheck.LogFiles(path)
	if len(files) != 4 {
		t.Fatalf("files = %q, want 3 backups and the file", files)
	}
	// Names follow lumberjack; same-millisecond rotations get the next one.
	if want := filepath.Join(filepath.Dir(path), "app-2024-05-06T07-08-09.001.log"); files[1] != want {
		t.Errorf("second backup %q, want %q", files[1], want)
	}
	for _, name := range files {
		fi, _ := os.Stat(name)
		if fi.Size() > 1000 {
			t.Errorf("%s is %d bytes, over MaxSize", name, fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", name, fi.Mode())
		}
	}
	check(t, path, map[int]int{1: 10})
}

func TestRotateRecordLargerThanMax(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	f := mustOpen(t, path, WithMaxSize(1000))
	f.Write(record(1, 0, 5000)) // into the empty file, whole
	f.Write(record(1, 1, 200))  // rotates
	files, _ := logcheck.LogFiles(path)
	if len(files) != 2 {
		t.Fatalf("files = %q", files)
	}
	check(t, path, map[int]int{1: 2})
}

// TestSiblingRotation runs two Files on one path, as two processes would
// (each has its own open file description and lock).
func TestSiblingRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	clock := newFakeClock()
	spyA, spyB := newSpy(), newSpy()
	a := mustOpen(t, path, withSys(spyA), WithMaxSize(10000), WithClock(clock.Now))
	b := mustOpen(t, path, withSys(spyB), WithMaxSize(10000), WithClock(clock.Now))

	for i := range 3 {
		a.Write(record(1, i, 3000))
	}
	a.Write(record(1, 3, 3000)) // A rotates: backup holds A0-A2
	if spyA.take()["rename"] != 1 {
		t.Fatal("A did not rotate")
	}

	// B has not looked yet: its small unlocked record lands in the
	// just-rotated file (the documented window), not lost.
	b.Write(record(2, 0, 3000))
	// A large record is written under the lock, after checking the path:
	// B follows the rotation first.
	b.Write(record(2, 1, 5000))
	clock.Advance(DefaultReopenCheck)
	b.Write(record(2, 2, 1000)) // the periodic check has already moved B
	if spyB.take()["rename"] != 0 {
		t.Fatal("B rotated too")
	}
	files, _ := logcheck.LogFiles(path)
	if len(files) != 2 {
		t.Fatalf("files = %q", files)
	}
	backup, _ := os.ReadFile(files[0])
	if !strings.Contains(string(backup), `"p":2,"s":0,`) || strings.Contains(string(backup), `"p":2,"s":1,`) {
		t.Errorf("backup content: B0 should be there, B1 not")
	}
	check(t, path, map[int]int{1: 4, 2: 3})
}

func TestExactlyOneRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	clock := newFakeClock()
	spyA, spyB := newSpy(), newSpy()
	a := mustOpen(t, path, withSys(spyA), WithMaxSize(1000), WithClock(clock.Now))
	b := mustOpen(t, path, withSys(spyB), WithMaxSize(1000), WithClock(clock.Now))
	for i := range 3 {
		a.Write(record(1, i, 300))
	}
	clock.Advance(DefaultReopenCheck)
	b.Write(record(2, 0, 300)) // B sees 900 bytes and rotates
	a.Write(record(1, 3, 300)) // A also thinks it is due, but finds B did it
	if nA, nB := spyA.take()["rename"], spyB.take()["rename"]; nA != 0 || nB != 1 {
		t.Fatalf("renames: A %d, B %d; want 0, 1", nA, nB)
	}
	files, _ := logcheck.LogFiles(path)
	if len(files) != 2 {
		t.Fatalf("files = %q", files)
	}
	check(t, path, map[int]int{1: 4, 2: 1})
}

func TestReopenAfterExternalMove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	clock := newFakeClock()
	f := mustOpen(t, path, WithClock(clock.Now))
	f.Write(record(1, 0, 200))
	os.Rename(path, filepath.Join(dir, "app-2024-01-01T00-00-00.000.log")) // logrotate
	clock.Advance(DefaultReopenCheck)
	f.Write(record(1, 1, 200))
	os.Remove(path) // deleted outright
	clock.Advance(DefaultReopenCheck)
	f.Write(record(1, 2, 200))
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"s":2,`) {
		t.Fatal("not reopened after the file was removed")
	}
	rep, _ := logcheck.CheckLog(map[int]int{1: 3}, path)
	if rep.Found != 2 || rep.Missing != 1 || rep.Torn != 0 {
		t.Fatalf("%v (s=1 was deleted with the file)", rep)
	}
}

func TestRotationFailureKeepsRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	sys := &renameFailSys{sysCalls: osSys{}}
	f := mustOpen(t, path, withSys(sys), WithMaxSize(500))
	f.Write(record(1, 0, 300))
	n, err := f.Write(record(1, 1, 300))
	if !errors.Is(err, syscall.EXDEV) || n != 300 {
		t.Fatalf("Write = %d, %v; want the record written and the rename error", n, err)
	}
	check(t, path, map[int]int{1: 2})
}

type renameFailSys struct{ sysCalls }

func (renameFailSys) rename(from, to string) error {
	return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.EXDEV}
}

func TestPruneAndCompress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	clock := newFakeClock()
	f, err := Open(path, WithMaxSize(400), WithMaxBackups(2), WithCompress(true), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		f.Write(record(1, i, 300)) // every write after the first rotates
		clock.Advance(10 * time.Second)
	}
	clock.Advance(-10 * time.Second)
	if err := f.Close(); err != nil { // waits for compression and pruning
		t.Fatal(err)
	}
	files, _ := logcheck.LogFiles(path)
	var names []string
	for _, p := range files {
		names = append(names, filepath.Base(p))
	}
	// The newest backup is too young to compress (a sibling could still
	// append to it); the one before is compressed; older ones are pruned.
	want := []string{"app-2024-05-06T07-08-49.000.log.gz", "app-2024-05-06T07-08-59.000.log", "app.log"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files = %q, want %q", names, want)
	}
	c := logcheck.NewChecker(map[int]int{1: 6})
	for _, p := range files {
		if err := c.ScanFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if rep := c.Report(); rep.Found != 3 || rep.Missing != 3 || rep.Torn+rep.Reordered+rep.Duplicated != 0 {
		t.Fatalf("%v", rep)
	}
	if _, err := os.Stat(path + ".gz.tmp"); err == nil {
		t.Error("temporary file left")
	}
}

func TestPruneByAge(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	clock := newFakeClock()
	old := filepath.Join(dir, "app-2024-05-01T00-00-00.000.log.gz")
	keep := filepath.Join(dir, "app-2024-05-06T00-00-00.000.log")
	other := filepath.Join(dir, "other-2024-05-01T00-00-00.000.log")
	for _, p := range []string{old, keep, other} {
		os.WriteFile(p, nil, 0o644)
	}
	f, _ := Open(path, WithMaxSize(400), WithMaxAge(48*time.Hour), WithClock(clock.Now))
	f.Write(record(1, 0, 300))
	f.Write(record(1, 1, 300))
	f.Close()
	for p, want := range map[string]bool{old: false, keep: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
