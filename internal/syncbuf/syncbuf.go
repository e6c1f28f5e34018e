// Package syncbuf holds a byte buffer safe for concurrent use: the
// diagnostics and error output that tests and the stress harness collect
// while the code under test writes them from goroutines of its own.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent use. The zero value is an
// empty buffer without a limit.
type Buffer struct {
	// Limit, if positive, is the size past which writes are dropped (and
	// still reported as written): a long run keeps the beginning of its
	// diagnostics without growing without bound.
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p, unless the buffer holds Limit bytes already.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Limit > 0 && s.b.Len() >= s.Limit {
		return len(p), nil
	}
	return s.b.Write(p)
}

// Sync does nothing: it makes a Buffer a zapcore.WriteSyncer.
func (s *Buffer) Sync() error { return nil }

// String returns what was written.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
