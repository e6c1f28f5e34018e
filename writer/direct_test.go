package writer

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// callerOutput records, for every Write, whether a reader made it (the
// direct path) or the output goroutine, and can fail writes on demand.
type callerOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	direct  []bool // per Write call
	fail    bool   // writes fail with ENOSPC
	short   int    // the next Write keeps only this many bytes, and fails
	reopens int
}

func (o *callerOutput) Write(p []byte) (int, error) {
	stack := make([]byte, 8<<10)
	stack = stack[:runtime.Stack(stack, false)]
	o.mu.Lock()
	defer o.mu.Unlock()
	o.direct = append(o.direct, bytes.Contains(stack, []byte("writeDirect")))
	if o.fail {
		return 0, fmt.Errorf("write out.log: %w", syscall.ENOSPC)
	}
	if o.short > 0 {
		n := o.short
		o.short = 0
		o.fail = true
		o.buf.Write(p[:n])
		return n, fmt.Errorf("write out.log: %w", syscall.ENOSPC)
	}
	return o.buf.Write(p)
}

func (o *callerOutput) Reopen() error { o.mu.Lock(); o.reopens++; o.mu.Unlock(); return nil }
func (o *callerOutput) Close() error  { return nil }

func (o *callerOutput) set(f func(o *callerOutput)) { o.mu.Lock(); f(o); o.mu.Unlock() }

func (o *callerOutput) calls() []bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]bool(nil), o.direct...)
}

func (o *callerOutput) String() string { o.mu.Lock(); defer o.mu.Unlock(); return o.buf.String() }

// sendFrames sends records on a new stream connection and closes it.
func sendFrames(t *testing.T, path string, recs ...string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b []byte
	for _, r := range recs {
		b = appendFrame(b, r)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func startCallerServer(t *testing.T, opts ...Option) (*Server, *callerOutput, string) {
	t.Helper()
	out := &callerOutput{}
	s := New(out, append([]Option{WithDiagnostics(&syncBuffer{})}, opts...)...)
	s.Start()
	path := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen("unix://" + path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, out, path
}

// TestIdleOutputWrittenByReader: a record that finds the output idle is
// written by the connection's reader, without the hop to the output
// goroutine; with a flush interval, which asks for batching, it is not.
func TestIdleOutputWrittenByReader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		direct bool
	}{
		{"default", nil, true},
		{"flush interval", []Option{WithFlushInterval(time.Millisecond)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, out, path := startCallerServer(t, tc.opts...)
			sendFrames(t, path, `{"i":1}`)
			waitFor(t, "the record", func() bool { return s.Stats().Records == 1 })
			if calls := out.calls(); len(calls) != 1 || calls[0] != tc.direct {
				t.Errorf("writes made by a reader: %v, want [%v]", calls, tc.direct)
			}
			if got := out.String(); got != "{\"i\":1}\n" {
				t.Errorf("output %q", got)
			}
		})
	}
}

// TestDirectWriteFails: a reader's direct write that is cut short by a
// full disk leaves the rest of its block to the output goroutine, which
// retries it before anything else: records of another connection sent
// meanwhile never land inside the cut record, a Reopen asked for while the
// disk is full is answered at once, and once the disk has room every
// record is in the output exactly once.
func TestDirectWriteFails(t *testing.T) {
	s, out, path := startCallerServer(t)
	out.set(func(o *callerOutput) { o.short = 5 })
	first := `{"conn":1,"pad":"` + strings.Repeat("a", 100) + `"}`
	sendFrames(t, path, first)
	waitFor(t, "the output goroutine to retry", func() bool { return s.Stats().WriteErrors >= 2 })
	var second []string
	for i := range 50 {
		second = append(second, fmt.Sprintf(`{"conn":2,"i":%d}`, i))
	}
	sendFrames(t, path, second...)

	done := make(chan error, 1)
	go func() { done <- s.Reopen() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Reopen waited for the failing output")
	}
	out.set(func(o *callerOutput) { o.fail = false })
	waitFor(t, "every record", func() bool { return s.Stats().Records == 51 })

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 51 || lines[0] != first {
		t.Fatalf("%d lines, first %.60q; want 51, the cut record first and whole", len(lines), lines[0])
	}
	for i, l := range lines[1:] {
		if want := second[i]; l != want {
			t.Fatalf("line %d is %q, want %q", i+1, l, want)
		}
	}
	calls := out.calls()
	if !calls[0] {
		t.Errorf("the first write was not the reader's")
	}
	for i, direct := range calls[1:] {
		if direct {
			t.Errorf("write %d was made by a reader while the output had a cut record to finish", i+1)
		}
	}
	if st := s.Stats(); st.Lost != 0 || st.Reopens != 1 {
		t.Errorf("stats: %+v", st)
	}
}

// TestDirectWriteWaitsForPending: a reader never writes while a block is
// queued, batched or cut short (it would overtake records of its own
// connection, or land inside a cut record), nor before the output
// goroutine runs.
func TestDirectWriteWaitsForPending(t *testing.T) {
	out := &callerOutput{}
	s := New(out, WithDiagnostics(&syncBuffer{}))
	blk := func(rec string) *block { return &block{buf: []byte(rec + "\n"), records: 1} }
	if s.writeDirect(blk(`{"i":0}`)) {
		t.Fatal("a reader wrote before the output goroutine started")
	}
	s.Start()
	defer s.Shutdown(context.Background())
	waitFor(t, "the output goroutine", func() bool {
		s.d.outMu.Lock()
		defer s.d.outMu.Unlock()
		return s.d.running
	})
	s.d.pending.Add(1) // as a reader does before queueing a block
	if s.writeDirect(blk(`{"i":1}`)) {
		t.Fatal("a reader wrote while a block was pending")
	}
	s.d.pending.Add(-1)
	if !s.writeDirect(blk(`{"i":2}`)) {
		t.Fatal("a reader did not write to the idle output")
	}
	if got := out.String(); got != "{\"i\":2}\n" {
		t.Errorf("output %q", got)
	}
}
