package sink

import (
	"fmt"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// Flushing and acknowledgements: records wait in s.ring from Write until
// the writer acknowledged them (or, without acks, until their write
// returned). flush sends the unsent ones, with the write lock held and the
// state lock released around each write(2); the acknowledgements release
// them. Sequence numbers: the oldest held record is s.ackSeq+1, the newest
// s.heldSeqLocked().

// heldSeqLocked returns the sequence of the newest record held: the
// records held are s.ackSeq+1 … heldSeqLocked().
func (s *Sink) heldSeqLocked() uint64 { return s.ackSeq + uint64(s.ring.n) }

// sentSeqLocked returns the sequence of the newest record sent on the
// connection: sentSeqLocked()+1 is the oldest still to send.
func (s *Sink) sentSeqLocked() uint64 { return s.ackSeq + uint64(s.ring.n-s.ring.unsent) }

// signal wakes the goroutine waiting on c, if it is not already due to
// wake.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// flush sends the unsent records up to sequence target. The caller holds
// wmu.
func (s *Sink) flush(target uint64) {
	for {
		s.mu.Lock()
		conn, gen, sc := s.conn, s.gen, s.shared
		first := s.sentSeqLocked() + 1 // first unsent
		if conn == nil || s.ring.unsent == 0 || first > target || (sc != nil && !sc.ready.Load()) {
			s.mu.Unlock()
			return
		}
		var n int64
		var err error
		if s.addr.Transport == wire.Datagram {
			rec := s.ring.record(s.ring.send)
			s.ring.markSent(1)
			s.mu.Unlock()
			_, err = conn.Write(rec)
			s.mu.Lock()
			if isMsgSize(err) {
				s.reportLocked(fmt.Errorf("datagram of %d bytes refused by the kernel (record dropped): %w", len(rec), err))
				s.oversize.Add(1)
				err = nil
			} else if err == nil {
				s.sent.Add(1)
			}
			if err == nil {
				n = int64(wire.FrameHeaderSize + len(rec))
			}
		} else {
			a, b := s.ring.unsentRuns()
			s.ring.markAllSent()
			s.mu.Unlock()
			if sc != nil {
				if err = sendRing(sc, conn, a); err == nil {
					err = sendRing(sc, conn, b)
				}
			} else if b == nil {
				var m int
				m, err = conn.Write(a)
				n = int64(m)
			} else {
				s.iov = append(s.iovArr[:0], a, b)
				n, err = s.iov.WriteTo(conn)
				s.iov = nil
			}
			s.mu.Lock()
		}
		if s.gen == gen {
			if s.ack {
				if err == nil {
					s.doneSeq = s.sentSeqLocked()
					s.applyAcksLocked()
				}
			} else {
				k := s.ring.sentWithin(n)
				s.releaseLocked(k)
				if s.addr.Transport != wire.Datagram {
					s.sent.Add(uint64(k))
				}
				if err != nil {
					s.ring.rewind()
				}
			}
			if err != nil {
				s.breakLocked(gen, err)
			}
		}
		s.cond.Broadcast()
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *Sink) releaseLocked(k int) {
	if k > 0 {
		s.ring.release(k)
		s.ackSeq += uint64(k)
	}
}

// ackedLocked takes the writer's acknowledgement of the records up to seq.
func (s *Sink) ackedLocked(seq uint64) {
	last := s.heldSeqLocked()
	if seq > last {
		s.reportLocked(fmt.Errorf("writer acknowledged sequence %d, beyond the last sent %d", seq, last))
		seq = last
	}
	if seq > s.ackHigh {
		s.ackHigh = seq
		s.applyAcksLocked()
	}
}

// ringAcksLocked takes the acknowledgement the writer published in the
// shared ring, if it publishes them there; with want, it first tells the
// writer that the caller is about to wait, so that the writer sends an ack
// frame once it has a newer one. It reports whether records were
// released.
func (s *Sink) ringAcksLocked(want bool) bool {
	sc := s.shared
	if sc == nil || !sc.ready.Load() {
		return false
	}
	var next uint64
	if want {
		next = sc.ring.WantAck()
	} else {
		next = sc.ring.Acked()
	}
	before := s.ackSeq
	if next > 0 {
		s.ackedLocked(next - 1)
	}
	return s.ackSeq != before
}

// waitLocked waits for a change of state: an acknowledgement, room, a
// connection. Acknowledgements in the shared ring come without a wake-up,
// so it takes those first, and asks for an ack frame if they were not
// enough.
func (s *Sink) waitLocked() {
	if s.ringAcksLocked(false) || s.ringAcksLocked(true) {
		return
	}
	s.cond.Wait()
}

// applyAcksLocked releases the acknowledged records whose write has
// returned (the bytes of a write still under way are left alone).
func (s *Sink) applyAcksLocked() {
	t := min(s.ackHigh, s.doneSeq)
	if t > s.ackSeq {
		k := t - s.ackSeq
		s.releaseLocked(int(k))
		s.sent.Add(k)
		s.cond.Broadcast()
	}
}

// flusher sends batches after their delay, and whatever Sync and Close ask
// for at once.
func (s *Sink) flusher() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-s.kick:
			timer.Reset(s.cfg.batch)
			select {
			case <-timer.C:
			case <-s.urgent:
				timer.Stop()
			case <-s.done:
				timer.Stop()
				return
			}
		case <-s.urgent:
		case <-s.done:
			return
		}
		s.wmu.Lock()
		s.flush(^uint64(0))
		s.wmu.Unlock()
	}
}
