package sink

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stuckWriter blocks every Write until release is closed; entered gets a
// value when the first Write begins.
type stuckWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	b       strings.Builder
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestErrorOutputOffTheLock: an error output that does not take its
// writes (a stalled terminal) holds up no Write: the Sink queues its
// error lines and writes them from a goroutine of their own, and Close
// writes them all before it returns.
func TestErrorOutputOffTheLock(t *testing.T) {
	w := &stuckWriter{entered: make(chan struct{}), release: make(chan struct{})}
	addr := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	s, err := New(addr, WithPolicy(Drop), WithErrorOutput(w), WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	<-w.entered // "unreachable": the error output is now stuck
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			s.Write([]byte(`{"a":1}`))
		}
		s.Stats()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Write waits for the error output")
	}
	close(w.release)
	if err := s.Close(); err == nil {
		t.Error("Close reported no undelivered records")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !strings.Contains(w.b.String(), "unreachable") {
		t.Errorf("error output: %q", w.b.String())
	}
}
