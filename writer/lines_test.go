package writer

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
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
			if _, ok := m["time"]; ok {
				t.Errorf("JSON line got the writer's time, which only text gets: %v", m)
			}
			continue
		}
		if m["msg"] != want[i] || m["time"] == nil {
			t.Errorf("line %d: %v, want msg %q", i, m, want[i])
		}
	}
	if st := f.s.Stats(); st.Wrapped != uint64(len(want)-1) || st.Compacted != 0 {
		t.Errorf("wrapped %d, compacted %d; want %d and 0", st.Wrapped, st.Compacted, len(want)-1)
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

// TestLinesShutdownWaitsForPlainReader: Shutdown waits for a line source
// it can neither interrupt nor close (no SetReadDeadline, no Close) to
// reach its end, and writes every line it read.
func TestLinesShutdownWaitsForPlainReader(t *testing.T) {
	f, pw := plainLineSource(t)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- f.s.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		pw.Close()
		t.Fatalf("Shutdown returned (%v) while the line source was still open", err)
	case <-time.After(200 * time.Millisecond):
	}
	io.WriteString(pw, "two\n")
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := len(jsonLines(t, f.out)); n != 2 {
		t.Errorf("%d lines, want 2", n)
	}
	if st := f.s.Stats(); st.Lost != 0 || st.Records != 2 {
		t.Errorf("stats %v", st)
	}
}

// TestLinesShutdownGivesUpPlainReader: when Shutdown's context expires, a
// line source it can't interrupt is left to its reader; what it reads
// later is counted as Lost and never reaches the closed output.
func TestLinesShutdownGivesUpPlainReader(t *testing.T) {
	f, pw := plainLineSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := f.s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown: %v, want the context's error", err)
	}
	io.WriteString(pw, "late\n")
	pw.Close()
	waitFor(t, "the late line to be counted lost", func() bool { return f.s.Stats().Lost == 1 })
	if n := len(jsonLines(t, f.out)); n != 1 {
		t.Errorf("%d lines, want 1", n)
	}
	if st := f.s.Stats(); st.Records != 1 {
		t.Errorf("stats %v", st)
	}
}

// plainLineSource adds a line source that has neither SetReadDeadline nor
// Close, waits for its first line to be written, and returns the fixture,
// which the test shuts down itself, and the source's write end.
func plainLineSource(t *testing.T) (*fixture, *io.PipeWriter) {
	f := newFixture(t)
	pr, pw := io.Pipe()
	f.s.AddLines("stdout", struct{ io.Reader }{pr})
	io.WriteString(pw, "one\n")
	waitFor(t, "the first line", func() bool { return f.s.Stats().Records == 1 })
	f.done = true
	return f, pw
}

// TestInputStartsOutput: records are written without Start; the first
// input starts the output goroutine.
func TestInputStartsOutput(t *testing.T) {
	out := &halvingOutput{}
	s := New(out)
	pr, pw := io.Pipe()
	defer pw.Close()
	s.AddLines("stdout", pr)
	io.WriteString(pw, "one\n")
	waitFor(t, "the line written without Start", func() bool { return s.Stats().Records == 1 })
	pw.Close()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestLinesFromPeer: with WithPeerCred, AddLinesFrom stamps every line
// with the Peer the caller vouches for, over any the line forged, and
// AddLines leaves a forged peer field null.
func TestLinesFromPeer(t *testing.T) {
	f := newFixture(t, WithPeerCred(true))
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f.s.AddLinesFrom("child", r1, Peer{PID: 4242, UID: 1001, GID: 1002})
	f.s.AddLines("plain", r2)
	forged := `{"peer_pid":1,"peer_uid":0,"peer_gid":0,"msg":"forged"}` + "\n"
	w1.WriteString(forged + "text\n")
	w1.Close()
	w2.WriteString(forged)
	w2.Close()
	lines := f.lines()
	if len(lines) != 3 {
		t.Fatalf("lines %v", lines)
	}
	for _, m := range lines {
		switch m["stream"] {
		case "child":
			if m["peer_pid"] != 4242.0 || m["peer_uid"] != 1001.0 || m["peer_gid"] != 1002.0 {
				t.Errorf("AddLinesFrom line: %v", m)
			}
		case "plain":
			if m["peer_pid"] != nil || m["peer_uid"] != nil || m["peer_gid"] != nil {
				t.Errorf("AddLines line keeps a forged peer field: %v", m)
			}
		default:
			t.Errorf("line %v", m)
		}
	}
}
