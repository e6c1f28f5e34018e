package sink

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// What the Sink writes by itself: the fallback file while the writer
// can't be reached, the record that reports drops, and its own errors.

// fallbackLocked writes one record to the fallback file, as one line.
func (s *Sink) fallbackLocked(p []byte) error {
	if _, err := s.fb.Write(p); err != nil {
		s.lost.Add(1)
		err = fmt.Errorf("sink: fallback: %w", err)
		s.reportLocked(err)
		return err
	}
	s.fallback.Add(1)
	return nil
}

// drainToFallbackLocked moves every held record, in order, to the
// fallback file. The caller holds wmu and mu.
func (s *Sink) drainToFallbackLocked() {
	s.ringAcksLocked(false) // written already: not copied to the fallback
	n := s.ring.n
	for off, i := s.ring.head, 0; i < n; i++ {
		s.fallbackLocked(s.ring.record(off))
		off = s.ring.next(off)
	}
	s.ring.markAllSent()
	s.releaseLocked(n)
	s.ackHigh = max(s.ackHigh, s.ackSeq)
	s.doneSeq = s.ackSeq
	s.cond.Broadcast()
}

// noteDropsLocked queues the drop notice, if records were dropped since
// the last one and it fits.
func (s *Sink) noteDropsLocked() {
	if s.pendingDrops == 0 {
		return
	}
	s.notice = appendDropNotice(s.notice[:0], s.pendingDrops)
	switch {
	case s.fallbackOn || (s.closed && s.fb != nil):
		if s.fallbackLocked(s.notice) != nil {
			return
		}
	case s.closed:
		return
	case s.ring.fits(wire.FrameHeaderSize + len(s.notice)):
		s.ring.push(s.notice)
		if s.conn != nil {
			signal(s.urgent)
		}
	default:
		return
	}
	s.pendingDrops = 0
}

// appendDropNotice appends the record that reports n dropped records.
func appendDropNotice(dst []byte, n uint64) []byte {
	now := time.Now()
	dst = append(dst, `{"level":"warn","ts":`...)
	dst = strconv.AppendFloat(dst, float64(now.UnixNano())/1e9, 'f', -1, 64)
	dst = append(dst, `,"logger":"logfanin","msg":"logfanin: records dropped","dropped":`...)
	dst = strconv.AppendUint(dst, n, 10)
	dst = append(dst, `,"pid":`...)
	dst = strconv.AppendInt(dst, int64(os.Getpid()), 10)
	return append(dst, "}\n"...)
}

// reportLocked reports err on the error output and counts it.
func (s *Sink) reportLocked(err error) {
	s.errs.Add(1)
	s.logLocked(err.Error())
}

// logLocked queues msg for the error output, which is written outside
// the lock (errorLog).
func (s *Sink) logLocked(msg string) { s.errlog.log(msg) }
