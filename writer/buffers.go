package writer

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// Frame buffers
//
// Every stream connection reads through a 64 KiB buffer. A frame that does
// not fit it is read into a buffer of its own (pooled, see bufpool, and
// given back at the next frame), and that memory is rationed by a budget
// shared by all connections
// (WithMaxFrameMemory): a reader that finds the budget spent waits, without
// reading, until others give memory back or its idle timeout passes. So a
// thousand clients that each announce a 1 MiB frame and then send it
// slowly hold at most the budget, not a gigabyte; a well-behaved client
// whose records fit the default buffer never waits for it.

// perConnMemory is what one open stream connection holds at most besides
// the shared budgets: its 64 KiB read buffer, its formatter's scratch
// (dropped after a record over 64 KiB) and a goroutine stack.
const perConnMemory = 64<<10 + jsonline.MaxScratch + 8<<10

// frameBudget is the semaphore of bytes behind WithMaxFrameMemory.
type frameBudget struct {
	mu    sync.Mutex
	used  int
	limit int
	wake  chan struct{} // closed and replaced whenever memory is given back
}

func newFrameBudget(limit int) *frameBudget {
	return &frameBudget{limit: limit, wake: make(chan struct{})}
}

// acquire takes n bytes, waiting until they fit (a single request larger
// than the whole budget waits until nothing else is held). It gives up
// with an error wrapping os.ErrDeadlineExceeded when timeout passes, or
// errForced when stop is closed.
func (b *frameBudget) acquire(n int, timeout time.Duration, stop <-chan struct{}) error {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.limit {
			b.used += n
			b.mu.Unlock()
			return nil // the deferred Stop stops a timer started
		}
		wake := b.wake
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(timeout)
			defer timer.Stop()
		}
		select {
		case <-wake:
		case <-timer.C:
			return fmt.Errorf("waited %v for %d bytes of frame buffer: %w", timeout, n, os.ErrDeadlineExceeded)
		case <-stop:
			return errForced
		}
	}
}

// errForced ends a wait when Shutdown forces the connection.
var errForced = errors.New("writer: connection forced closed")

func (b *frameBudget) release(n int) {
	b.mu.Lock()
	b.used -= n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// inUse reports the bytes held now.
func (b *frameBudget) inUse() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// connBudget is one connection's view of the frame budget.
type connBudget struct{ c *conn }

func (cb connBudget) Grow(n int) error {
	c := cb.c
	// Records decoded so far must not wait with this reader.
	c.fd.flush()
	return c.s.frames.acquire(n, c.s.cfg.idleTimeout, c.forcedCh)
}

func (cb connBudget) Shrink(n int) { cb.c.s.frames.release(n) }
