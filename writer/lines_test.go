package writer

import (
	"os"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	f := newFixture(t, WithMaxRecord(100))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f.s.AddLines("stderr", r)
	w.WriteString("plain line\n" + `{"level":"info","msg":"json"}` + "\n" + strings.Repeat("x", 250) + "\nno newline at end")
	w.Close()
	lines := f.lines()
	want := []string{"plain line", "", strings.Repeat("x", 100), strings.Repeat("x", 100), strings.Repeat("x", 50), "no newline at end"}
	if len(lines) != len(want) {
		t.Fatalf("lines %v", lines)
	}
	for i, m := range lines {
		if m["stream"] != "stderr" {
			t.Errorf("line %d: %v", i, m)
		}
		if i == 1 {
			if m["msg"] != "json" || m["level"] != "info" {
				t.Errorf("JSON line: %v", m)
			}
			continue
		}
		if m["msg"] != want[i] || m["time"] == nil {
			t.Errorf("line %d: %v, want msg %q", i, m, want[i])
		}
	}
}

// TestLinesShutdownDeadline: a line source whose writer never closes is
// stopped at the deadline, keeping what was read.
func TestLinesShutdownDeadline(t *testing.T) {
	f := newFixture(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f.s.AddLines("stdout", r)
	w.WriteString("one\ntwo\n")
	waitFor(t, "lines", func() bool { return f.s.Stats().Records == 2 })
	ctx, cancel := contextExpired()
	defer cancel()
	f.done = true
	f.s.Shutdown(ctx)
	if n := len(jsonLines(t, f.out)); n != 2 {
		t.Errorf("%d lines", n)
	}
	r.Close()
}
