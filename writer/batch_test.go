package writer

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
)

// goroutineOutput records the lines written and the goroutine that wrote
// each write.
type goroutineOutput struct {
	mu     sync.Mutex
	lines  []string
	by     []uint64
	closed bool
}

func (o *goroutineOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range bytes.Split(bytes.TrimSuffix(p, []byte("\n")), []byte("\n")) {
		o.lines = append(o.lines, string(l))
		o.by = append(o.by, goid())
	}
	return len(p), nil
}

func (o *goroutineOutput) Reopen() error { return nil }
func (o *goroutineOutput) Close() error  { return nil }

func (o *goroutineOutput) snapshot() ([]string, []uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.lines...), append([]uint64(nil), o.by...)
}

// goid returns the id of the calling goroutine.
func goid() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	var id uint64
	for _, c := range buf {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// TestReaderWritesWhenIdle: a reader that finds the output idle writes its
// block itself, before its flush returns; before Start, and while its
// earlier blocks are queued, its blocks go through the queue, in order.
func TestReaderWritesWhenIdle(t *testing.T) {
	out := &goroutineOutput{}
	s := New(out)
	fd := feeder{s: s}
	me := goid()
	add := func(rec string) {
		if !fd.add([]byte(rec), nil, nil, false, nil, 0) {
			t.Fatalf("add %s refused", rec)
		}
	}
	add(`{"n":1}`)
	fd.flush()
	if lines, _ := out.snapshot(); len(lines) != 0 {
		t.Fatalf("written before Start: %v", lines)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queued block to be written and the output to go idle", func() bool {
		if lines, _ := out.snapshot(); len(lines) != 1 || !s.outMu.TryLock() {
			return false
		}
		s.outMu.Unlock()
		return true
	})
	add(`{"n":2}`)
	fd.flush()
	lines, by := out.snapshot()
	if len(lines) != 2 || by[1] != me {
		t.Fatalf("after a flush with the output idle: lines %v by goroutines %v, want the second written by the reader (%d)", lines, by, me)
	}
	if by[0] == me {
		t.Errorf("the block queued before Start was written by the reader")
	}

	// Output busy: the output goroutine holds the lock, a block queues; a
	// later one must not overtake it.
	s.outMu.Lock()
	add(`{"n":3}`)
	fd.flush()
	s.outMu.Unlock()
	add(`{"n":4}`)
	fd.flush()
	waitFor(t, "4 lines", func() bool { l, _ := out.snapshot(); return len(l) == 4 })
	if lines, _ = out.snapshot(); lines[2] != `{"n":3}` || lines[3] != `{"n":4}` {
		t.Errorf("lines %v, want n=3 before n=4", lines)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
