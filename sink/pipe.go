package sink

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/logfanin/logfanin/internal/wire"
)

// pipeFD is the state shared by every Sink of this process that writes to
// one pipe descriptor. Its mutex makes sure all chunks of one record are
// written before another record of this process starts: the writer
// reassembles chunks per sender pid, so two records of one process must
// never interleave on the pipe.
type pipeFD struct {
	fd      int
	refs    int // guarded by pipes.mu
	mu      sync.Mutex
	chunk   int // chunk size, header included: the first opener's config.pipeChunk
	scratch []byte
	write   func([]byte) error
	drops   atomic.Uint64 // drops not yet reported, of every Sink on fd
}

var pipes struct {
	mu sync.Mutex
	m  map[int]*pipeFD
}

// recordID numbers the records of this process on every pipe. It starts
// at a random value so that a pid reused by a later process is unlikely to
// continue the ids of a fragment the writer still holds.
var recordID atomic.Uint32

func init() { recordID.Store(rand.Uint32()) }

// openPipe returns the shared state of descriptor fd, made with chunks of
// chunk bytes if this process has none yet.
func openPipe(fd, chunk int) (*pipeFD, error) {
	if err := checkPipe(fd); err != nil {
		return nil, err
	}
	pipes.mu.Lock()
	defer pipes.mu.Unlock()
	if pipes.m == nil {
		pipes.m = make(map[int]*pipeFD)
	}
	pf := pipes.m[fd]
	if pf == nil {
		pf = &pipeFD{fd: fd, chunk: chunk}
		pf.scratch = make([]byte, pf.chunk)
		pf.write = pf.writeChunk
		pipes.m[fd] = pf
	}
	pf.refs++
	return pf, nil
}

func (pf *pipeFD) release() {
	pipes.mu.Lock()
	defer pipes.mu.Unlock()
	if pf.refs--; pf.refs == 0 {
		delete(pipes.m, pf.fd)
	}
}

// writeRecord writes rec as chunks, each with one write(2). The caller
// holds pf.mu. The pid is read for every record, so a child that inherited
// the descriptor (and LOGFANIN_ADDR) sends under its own pid.
func (pf *pipeFD) writeRecord(rec []byte) error {
	return wire.WriteChunks(pf.scratch, pf.chunk, uint32(os.Getpid()), recordID.Add(1), rec, pf.write)
}

// pipeTransport writes to a pipe shared with other processes: each record
// goes straight to the pipe, as chunks, under the lock of the descriptor
// (pipeFD) that every Sink of the process on it shares. Nothing is held,
// so Sync and Close have only drops to report.
type pipeTransport struct{ *Sink }

func (t pipeTransport) write(p []byte) (int, error) { return t.writePipe(p) }

func (t pipeTransport) sync() error {
	s := t.Sink
	s.mu.Lock()
	closed := s.closing
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	s.notePipeDrops()
	return nil
}

func (t pipeTransport) close() error {
	s := t.Sink
	s.notePipeDrops()
	s.mu.Lock()
	s.closing = true
	var err error
	if n := s.lost.Load(); n > 0 {
		err = fmt.Errorf("sink: %d records not delivered to %s: %w", n, s.addr, s.lastErr)
	}
	s.mu.Unlock()
	s.pipe.release()
	return err
}

func (t pipeTransport) stats() Stats {
	var st Stats
	t.countersInto(&st)
	return st
}

func (s *Sink) writePipe(p []byte) (int, error) {
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return 0, ErrClosed
	case s.fallbackOn:
		err := s.fallbackLocked(p)
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	s.mu.Unlock()

	pf := s.pipe
	pf.mu.Lock()
	if s.cfg.policy == Drop && !pipeWritable(pf.fd) {
		pf.mu.Unlock()
		s.dropped.Add(1)
		pf.drops.Add(1)
		return len(p), nil
	}
	err := s.pipeNoticeLocked()
	if err == nil {
		err = pf.writeRecord(p)
	}
	pf.mu.Unlock()
	if err != nil {
		return s.pipeFailed(p, err)
	}
	s.sent.Add(1)
	return len(p), nil
}

// pipeNoticeLocked writes the drop notice if records were dropped. The
// caller holds s.pipe.mu.
func (s *Sink) pipeNoticeLocked() error {
	pf := s.pipe
	n := pf.drops.Swap(0)
	if n == 0 {
		return nil
	}
	s.mu.Lock()
	s.notice = appendDropNotice(s.notice[:0], n)
	notice := s.notice
	s.mu.Unlock()
	if err := pf.writeRecord(notice); err != nil {
		pf.drops.Add(n)
		return err
	}
	return nil
}

func (s *Sink) notePipeDrops() {
	s.pipe.mu.Lock()
	err := s.pipeNoticeLocked()
	s.pipe.mu.Unlock()
	if err != nil {
		s.pipeFailed(nil, err)
	}
}

// pipeFailed handles a failed write to the pipe: the writer is gone
// (EPIPE) or the descriptor broke. The record goes to the fallback file if
// there is one, and the pipe is not used again.
func (s *Sink) pipeFailed(p []byte, err error) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(err, syscall.EPIPE) {
		err = fmt.Errorf("writer on %s is gone: %w", s.addr, err)
	} else {
		err = fmt.Errorf("write to %s: %w", s.addr, err)
	}
	s.lastErr = err
	if s.fb != nil {
		if !s.fallbackOn {
			s.reportLocked(fmt.Errorf("%w; using the fallback file from now on", err))
			s.fallbackOn = true
			if n := s.pipe.drops.Swap(0); n > 0 {
				s.fallbackLocked(appendDropNotice(nil, n))
			}
		}
		if p == nil {
			return 0, nil
		}
		if e := s.fallbackLocked(p); e != nil {
			return 0, e
		}
		return len(p), nil
	}
	s.reportLocked(err)
	if p != nil {
		s.lost.Add(1)
	}
	return 0, fmt.Errorf("sink: %w", err)
}
