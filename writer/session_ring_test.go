//go:build linux

package writer

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
)

// TestReconnectCutsOffRing: an old connection whose shared ring another
// process keeps filling is cut off after the handover wait like a socket
// (its ring is read up to what it held then), so the new connection is
// read while the old producer is still at it.
func TestReconnectCutsOffRing(t *testing.T) {
	defer func(d time.Duration) { handoverWait = d }(handoverWait)
	handoverWait = 20 * time.Millisecond
	out := &slowOutput{delay: 50 * time.Millisecond} // the producer refills the ring long before the writer drains it
	s := New(out, WithQueueBytes(blockSize), WithDiagnostics(&syncbuf.Buffer{}))
	s.Start()
	path := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen("unix://" + path); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	cl := newSessionClient(t, path)
	h := cl.h
	h.Flags |= wire.HelloShm
	h.FirstSeq = 1
	ring, _, c1 := dialRing(t, path, wire.AppendHello(nil, h))
	stop := make(chan struct{})
	producing := make(chan struct{})
	go func() { // the old connection's producer, in a process that goes on
		defer close(producing)
		frame := wire.AppendFrame(nil, []byte(`{"old":1}`))
		for {
			for p := frame; len(p) > 0; {
				select {
				case <-stop:
					return
				default:
				}
				n := ring.Write(p)
				p = p[n:]
				if n > 0 && ring.TakeSleeper() {
					c1.Write([]byte{1})
				}
				if n == 0 {
					runtime.Gosched() // full: the writer is behind
				}
			}
		}
	}()
	defer func() { close(stop); <-producing }()
	waitFor(t, "the old connection's records", func() bool { return strings.Contains(out.buf.String(), `"old"`) })

	c2, b2 := cl.dial(1<<40, 1<<40, 20)
	defer c2.Close()
	c2.Write(b2)
	waitFor(t, "the new connection's record while the old producer goes on", func() bool {
		return s.Stats().Records > 0 && strings.Contains(out.buf.String(), `"i":1099511627776`)
	})

}

// pickyOutput fails every write that holds a given string, as a disk
// would fail for one batch and not the next.
type pickyOutput struct {
	bad string
	buf syncbuf.Buffer
}

func (o *pickyOutput) Write(p []byte) (int, error) {
	if strings.Contains(string(p), o.bad) {
		return 0, fmt.Errorf("write out.log: %w", syscall.EIO)
	}
	return o.buf.Write(p)
}
func (o *pickyOutput) Reopen() error { return nil }
func (o *pickyOutput) Close() error  { return nil }

// TestNoAckPastLostRecords: when a forced shutdown gives up on a batch
// and a later batch of the same session is written, the later write must
// not acknowledge the lost records (acks are cumulative): the client sees
// no ack past them and replays them to the next writer. (The client reads
// its acks in its shared ring, where they are published to the end.)
func TestNoAckPastLostRecords(t *testing.T) {
	s, ring, c := ringAckClient(t, &pickyOutput{bad: `"lost"`})
	send := func(rec string) {
		ring.Write(wire.AppendFrame(nil, []byte(rec)))
		if ring.TakeSleeper() {
			c.Write([]byte{1})
		}
	}
	send(`{"lost":1}`)
	waitFor(t, "the output to fail", func() bool { return s.Stats().WriteErrors > 0 })
	send(`{"kept":2}`)
	waitFor(t, "the second record queued", func() bool {
		s.q.mu.Lock()
		defer s.q.mu.Unlock()
		return s.q.used > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.Shutdown(ctx)
	if st := s.Stats(); st.Lost != 1 || st.Records != 1 {
		t.Fatalf("lost %d, written %d; want 1 and 1", st.Lost, st.Records)
	}
	if a := ring.Acked(); a != 0 {
		t.Errorf("acknowledged up to %d in the ring after record 1 was lost", a-1)
	}
}
