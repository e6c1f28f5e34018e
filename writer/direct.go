package writer

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// A reader that finds the output idle writes its block itself.
//
// Handing a block to the output goroutine costs a goroutine wake-up, often
// on another thread, between a record's arrival and its write(2); when
// nothing else is waiting to be written, that hop is pure latency. So a
// reader about to queue a block first tries outMu: if it gets it, the
// output goroutine is running, and no block is queued, batched or
// half-written (pending is 0), the reader writes the block with one Write
// and acknowledges it. Under load there is always something pending, and
// blocks go through the queue and are batched as before.
//
// A reader never waits for the output: it only tries the lock, and it
// does not retry. A Write that fails or is short leaves the rest of the
// block as the carry, which the output goroutine writes (retrying as
// usual) before anything else, so a record is never split around another
// and Reopen never waits behind a failing disk. Every Write on the Output
// happens under outMu, so an Output still sees one call at a time.
type directState struct {
	outMu    sync.Mutex
	running  bool          // the output goroutine runs (under outMu)
	pending  atomic.Int64  // blocks queued, batched or carried, not yet written
	carry    *block        // the unwritten rest of a reader's block (under outMu)
	carryOff int           // bytes of carry already written
	kick     chan struct{} // wakes the output goroutine for a carry
}

// writeDirect writes b if the output is idle, and reports whether it took
// b (written, or left as the carry).
func (s *Server) writeDirect(b *block) bool {
	if s.cfg.flushInterval > 0 || s.d.pending.Load() != 0 || !s.d.outMu.TryLock() {
		return false
	}
	if !s.d.running || s.d.pending.Load() != 0 {
		s.d.outMu.Unlock()
		return false
	}
	n, err := s.out.Write(b.buf)
	if n < 0 || n > len(b.buf) {
		n = 0
	}
	s.c.bytes.Add(uint64(n))
	if n == len(b.buf) && err == nil {
		s.c.writes.Add(1)
		s.c.records.Add(uint64(b.records))
		s.d.outMu.Unlock()
		if b.sess != nil {
			b.sess.written(b.seq)
		}
		s.putBlock(b, true)
		return true
	}
	// The output goroutine finishes the block; until then nothing else is
	// written (pending is not 0).
	done := bytes.Count(b.buf[:n], newline)
	s.c.records.Add(uint64(done))
	b.records -= done
	s.d.carry, s.d.carryOff = b, n
	s.d.pending.Add(1)
	s.d.outMu.Unlock()
	select {
	case s.d.kick <- struct{}{}:
	default:
	}
	return true
}

var newline = []byte{'\n'}

// writeCarryLocked writes the carry, retrying as writeOut does. The
// output goroutine calls it, holding outMu, before any write of its own.
func (s *Server) writeCarryLocked() {
	b := s.d.carry
	if b == nil {
		return
	}
	s.d.carry = nil
	if s.writeOut(b.buf[s.d.carryOff:], b.records) && b.sess != nil {
		b.sess.written(b.seq)
	}
	s.putBlock(b, true)
	s.d.pending.Add(-1)
}

// flushCarry writes the carry, if any.
func (s *Server) flushCarry() {
	s.d.outMu.Lock()
	defer s.d.outMu.Unlock()
	s.writeCarryLocked()
}

// write writes p, the records of blocks the output goroutine took from
// the queue, after the carry.
func (s *Server) write(p []byte, records int) bool {
	s.d.outMu.Lock()
	defer s.d.outMu.Unlock()
	s.writeCarryLocked()
	return s.writeOut(p, records)
}

// setRunning marks the output goroutine started or stopped; readers write
// directly only while it runs.
func (s *Server) setRunning(on bool) {
	s.d.outMu.Lock()
	s.d.running = on
	s.d.outMu.Unlock()
}
