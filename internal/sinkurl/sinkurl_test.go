package sinkurl

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseShape(t *testing.T) {
	tests := []struct {
		url, want string
		optional  bool
	}{
		{"x:///a/b?k=v", "", false},
		{"x:?k=v", "", true},
		{"x:?k=v", "path", false},
		{"y:///a", "scheme", false},
		{"x:rel/a", "relative path", false},
		{"x://u@/a", "user info", false},
		{"x://host/a", "host", false},
		{"x:///a#f", "fragment", false},
		{"x:///a?k=1&k=2", "given 2 times", false},
		{"x:///a?%zz", "query", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(u, "x", "pkg", tt.optional)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.url, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "pkg: sink URL") {
			t.Errorf("%s: error %v, want it to say %q", tt.url, err, tt.want)
		}
	}
}

func TestOptions(t *testing.T) {
	u, _ := url.Parse("x:///a?b=2&a=1&zz=3")
	su, err := Parse(u, "x", "pkg", false)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	err = su.Options(func(k, v string) error {
		seen = append(seen, k+"="+v)
		switch k {
		case "a":
			return nil
		case "b":
			return errors.New("bad b")
		}
		return ErrUnknown
	})
	if strings.Join(seen, ",") != "a=1,b=2" || err == nil || !strings.Contains(err.Error(), `option b="2": bad b`) {
		t.Fatalf("seen %v, error %v", seen, err)
	}
	u, _ = url.Parse("x:///a?zz=3")
	su, _ = Parse(u, "x", "pkg", false)
	if err := su.Options(func(string, string) error { return ErrUnknown }); err == nil || !strings.Contains(err.Error(), `unknown option "zz"`) {
		t.Fatalf("error %v", err)
	}
}

func TestSizeAndDuration(t *testing.T) {
	sizes := map[string]int64{"100": 100 << 20, "4096B": 4096, "256KiB": 256 << 10, "2MiB": 2 << 20, "1GiB": 1 << 30, "0": 0}
	for in, want := range sizes {
		if got, err := Size(in, 1<<20); err != nil || got != want {
			t.Errorf("Size(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1KB", "x", "99999999999GiB"} {
		if _, err := Size(in, 1); err == nil {
			t.Errorf("Size(%q) accepted", in)
		}
	}
	if d, err := Duration("7d", true); err != nil || d != 7*24*time.Hour {
		t.Errorf("Duration(7d) = %v, %v", d, err)
	}
	if d, err := Duration("5ms", false); err != nil || d != 5*time.Millisecond {
		t.Errorf("Duration(5ms) = %v, %v", d, err)
	}
	for _, in := range []string{"7d", "-1s", "soon"} {
		if _, err := Duration(in, false); err == nil {
			t.Errorf("Duration(%q, false) accepted", in)
		}
	}
}
