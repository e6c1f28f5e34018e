package writer

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// Records travel from the readers to the output goroutine in blocks: a
// reader formats its records into a block of its own and hands the block
// over just before it would block reading (or when the block is full), so
// under load one handover carries many records and when idle a record is
// handed over at once. The output goroutine copies blocks into its batch
// and writes the batch with one Write as soon as no block is waiting or the
// batch is full. Blocks are pooled; their memory is charged to a budget of
// WithQueueBytes bytes, and a reader that finds the budget spent waits,
// which stops it reading and pushes back onto its senders.

const blockSize = 64 << 10

type block struct {
	buf     []byte
	records int
	charge  int      // bytes charged to the budget
	sess    *session // ack-mode connection: the session of the records
	seq     uint64   // and the highest sequence number among them
}

var blockPool = sync.Pool{New: func() any { return &block{buf: make([]byte, 0, blockSize)} }}

// budget bounds the bytes held in blocks between readers and the output.
type budget struct {
	mu     sync.Mutex
	cond   sync.Cond
	used   int
	limit  int
	closed bool
}

func (b *budget) init(limit int) {
	b.limit = limit
	b.cond.L = &b.mu
}

// acquire waits until n bytes fit (a single charge larger than the limit
// waits for an empty queue). It returns false once the output has stopped.
func (b *budget) acquire(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && b.used > 0 && b.used+n > b.limit {
		b.cond.Wait()
	}
	if b.closed {
		return false
	}
	b.used += n
	return true
}

func (b *budget) release(n int) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// send queues blk for the output goroutine, unless the queue is closed:
// then it reports false and blk was not queued. The check and the send
// are one step under b.mu, so that no block slips into the queue after the
// output goroutine took its last look (a line source Shutdown gave up on
// keeps reading). The send does not wait in practice: every queued block
// holds a charge of at least blockSize, so the queue's capacity is more
// than the budget lets in; were it full, send would wait for the output
// goroutine to take a block out (release wakes it).
func (b *budget) send(q chan<- *block, blk *block) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed {
		select {
		case q <- blk:
			return true
		default:
			b.cond.Wait()
		}
	}
	return false
}

// close refuses every later acquire and send, and wakes the readers that
// wait for room.
func (b *budget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

// feeder is a reader's side of the queue: it formats records into the
// reader's current block.
type feeder struct {
	s   *Server
	f   formatter
	blk *block
}

// record is one record as a reader hands it to its feeder. Its slices
// are the reader's and must stay unchanged only until add returns.
type record struct {
	data      []byte   // the record as received
	wrap      []byte   // fields before "msg" if data is wrapped, each followed by ',' (a line's time, syslog's header)
	tail      []byte   // fields the writer appends, each preceded by ',' (peer, session and sequence, stream)
	forceWrap bool     // wrap data even if it is a JSON object (a syslog message)
	sess      *session // ack mode: the session data belongs to
	seq       uint64   // and its sequence number in it
}

// add formats one record into the current block. It returns false if the
// output has stopped (the record is counted as lost).
func (fd *feeder) add(r record) bool {
	n := fd.f.prepare(r.data, r.wrap, r.tail, r.forceWrap)
	if fd.blk != nil && len(fd.blk.buf)+n > cap(fd.blk.buf) {
		fd.flush()
	}
	if fd.blk == nil && !fd.get(n) {
		fd.s.c.lost.Add(1)
		return false
	}
	switch fd.f.Kind() {
	case jsonline.Wrapped:
		fd.s.c.wrapped.Add(1)
	case jsonline.Compacted:
		fd.s.c.compacted.Add(1)
	}
	fd.blk.buf = fd.f.emit(fd.blk.buf)
	fd.blk.records++
	if r.sess != nil {
		fd.blk.sess, fd.blk.seq = r.sess, r.seq
	}
	return true
}

func (fd *feeder) get(n int) bool {
	var b *block
	if n <= blockSize {
		b = blockPool.Get().(*block)
		b.charge = blockSize
	} else {
		b = &block{buf: make([]byte, 0, n), charge: n}
	}
	if !fd.s.budget.acquire(b.charge) {
		fd.s.putBlock(b, false)
		return false
	}
	fd.blk = b
	return true
}

// flush hands the current block to the output.
func (fd *feeder) flush() {
	b := fd.blk
	if b == nil {
		return
	}
	fd.blk = nil
	if b.records == 0 {
		fd.s.putBlock(b, true)
		return
	}
	if !fd.s.budget.send(fd.s.queue, b) {
		fd.s.c.lost.Add(uint64(b.records))
		fd.s.putBlock(b, true)
	}
}

// putBlock returns b to the pool, releasing its charge if charged.
func (s *Server) putBlock(b *block, charged bool) {
	if charged {
		s.budget.release(b.charge)
	}
	if cap(b.buf) == blockSize {
		*b = block{buf: b.buf[:0]}
		blockPool.Put(b)
	}
}

// ackNote remembers that a batch holds records of a session up to seq.
type ackNote struct {
	sess *session
	seq  uint64
}

// output is the state of the output goroutine.
type output struct {
	batch   []byte
	records int
	acks    []ackNote
}

func (s *Server) runOutput() {
	defer func() {
		s.budget.close()
		close(s.outDone)
	}()
	o := &s.o
	o.batch = make([]byte, 0, s.cfg.batchSize)
	for {
		if len(o.batch) == 0 {
			select {
			case b := <-s.queue:
				s.addBlock(b)
			case req := <-s.reopenCh:
				req <- s.reopen()
			case <-s.inputsDone:
				// No input is left but those Shutdown gave up on: close
				// the queue to them, then write what it holds.
				s.budget.close()
				for {
					select {
					case b := <-s.queue:
						s.addBlock(b)
					default:
						s.flushBatch()
						return
					}
				}
			}
			continue
		}
		select {
		case b := <-s.queue:
			s.addBlock(b)
			continue
		default:
		}
		s.flushBatch()
	}
}

func (s *Server) addBlock(b *block) {
	o := &s.o
	if len(o.batch) > 0 && len(o.batch)+len(b.buf) > s.cfg.batchSize {
		s.flushBatch()
	}
	if len(b.buf) >= s.cfg.batchSize {
		// Large enough on its own: write it without copying.
		if ok := s.writeOut(b.buf, b.records); b.sess != nil {
			b.sess.written(b.seq, ok)
		}
		s.putBlock(b, true)
		return
	}
	o.batch = append(o.batch, b.buf...)
	o.records += b.records
	if b.sess != nil {
		if n := len(o.acks); n > 0 && o.acks[n-1].sess == b.sess {
			o.acks[n-1].seq = b.seq
		} else {
			o.acks = append(o.acks, ackNote{b.sess, b.seq})
		}
	}
	s.putBlock(b, true)
}

func (s *Server) flushBatch() {
	o := &s.o
	if len(o.batch) == 0 {
		return
	}
	ok := s.writeOut(o.batch, o.records)
	for i, a := range o.acks {
		a.sess.written(a.seq, ok)
		o.acks[i] = ackNote{}
	}
	o.acks = o.acks[:0]
	o.batch = o.batch[:0]
	o.records = 0
}

const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
)

// writeOut writes p, whole records only, to the output, retrying failures
// with backoff until they succeed or Shutdown gives up (then the records
// not written are counted as lost). It reports whether all of p was
// written: records given up on must not be acknowledged, so that their
// senders replay them to the next writer.
func (s *Server) writeOut(p []byte, records int) bool {
	backoff := minBackoff
	for len(p) > 0 {
		n, err := s.out.Write(p)
		if n < 0 || n > len(p) {
			n, err = 0, fmt.Errorf("output returned a bad count %d for %d bytes", n, len(p))
		}
		if n > 0 {
			p = p[n:]
			s.c.bytes.Add(uint64(n))
			if err == nil {
				s.c.writes.Add(1)
				backoff = minBackoff
				continue // a short write: resume with the rest
			}
		}
		if err == nil {
			if len(p) == 0 {
				break
			}
			err = io.ErrShortWrite
		}
		s.c.writeErrors.Add(1)
		select {
		case <-s.abort:
			lost := countLines(p)
			s.c.lost.Add(uint64(lost))
			records -= lost
			s.diag.printf("output write failed, giving up on %d records at shutdown: %v", lost, err)
			s.c.records.Add(uint64(max(records, 0)))
			return false
		default:
		}
		s.diag.printf("output write failed, retrying in %v: %v", backoff, err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.abort:
		case req := <-s.reopenCh:
			req <- s.reopen()
		}
		t.Stop()
		backoff = min(2*backoff, maxBackoff)
	}
	s.c.records.Add(uint64(records))
	return true
}

func countLines(p []byte) int {
	n := 0
	for _, c := range p {
		if c == '\n' {
			n++
		}
	}
	if len(p) > 0 && p[len(p)-1] != '\n' {
		n++
	}
	return n
}

func (s *Server) reopen() error {
	if err := s.out.Reopen(); err != nil {
		s.diag.printf("reopen output: %v", err)
		return fmt.Errorf("reopen output: %w", err)
	}
	s.c.reopens.Add(1)
	return nil
}

var errClosed = errors.New("writer: server is shut down")
