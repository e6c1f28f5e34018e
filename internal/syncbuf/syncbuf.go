// Package syncbuf holds a byte buffer safe for concurrent use: the
// diagnostics and error output that tests and the stress harness collect
// while the code under test writes them from goroutines of its own.
package syncbuf

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent use. The zero value is an
// empty buffer without a limit.
type Buffer struct {
	// Limit, if positive, is the size past which writes are dropped (and
	// still reported as written): a long run keeps the beginning of its
	// diagnostics without growing without bound.
	Limit int

	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed and replaced at each write: WaitFor's signal
}

// Write appends p, unless the buffer holds Limit bytes already.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	if s.Limit > 0 && s.b.Len() >= s.Limit {
		return len(p), nil
	}
	return s.b.Write(p)
}

// WaitFor waits until what was written contains substr, and reports
// whether it did within timeout: for output that goroutines of the code
// under test write after the call that caused it has returned.
func (s *Buffer) WaitFor(substr string, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), substr) {
			s.mu.Unlock()
			return true
		}
		if s.written == nil {
			s.written = make(chan struct{})
		}
		written := s.written
		s.mu.Unlock()
		select {
		case <-written:
		case <-deadline.C:
			return false
		}
	}
}

// Sync does nothing: it makes a Buffer a zapcore.WriteSyncer.
func (s *Buffer) Sync() error { return nil }

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
