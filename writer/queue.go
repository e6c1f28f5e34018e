package writer

import (
	"sync"

	"github.com/logfanin/logfanin/internal/bufpool"
	"github.com/logfanin/logfanin/internal/jsonline"
)

// The queue between the readers and the output goroutine
//
// Records travel from the readers to the output goroutine in blocks: a
// reader formats its records into a block of its own (its feeder's) and
// hands the block over just before it would block reading, or when the
// block is full, so under load one handover carries many records and when
// idle a record is handed over at once. Blocks are pooled; their memory is
// charged to the queue's budget of WithQueueBytes bytes, and a reader that
// finds the budget spent waits, which stops it reading and pushes back
// onto its senders. The output goroutine (outputLoop) takes the blocks out
// and gives their charge back.
//
// Ownership: a block belongs to the reader that filled it until send,
// then to the output goroutine, which returns it with put.

const blockSize = 64 << 10

type block struct {
	buf     []byte
	records int
	charge  int      // bytes charged to the budget
	sess    *session // ack-mode connection: the session of the records
	seq     uint64   // and the highest sequence number among them
}

var blockPool = sync.Pool{New: func() any { return &block{buf: make([]byte, 0, blockSize)} }}

// queue carries blocks from the readers to the output goroutine and
// bounds the bytes they hold. Its mutex guards the budget and the closed
// flag, so that closing and sending exclude each other.
type queue struct {
	ch chan *block

	mu     sync.Mutex
	cond   sync.Cond // signalled when bytes are released or the queue closes
	used   int       // bytes charged by blocks not yet put back
	limit  int
	closed bool // the output goroutine takes no more blocks
}

func newQueue(limit int) *queue {
	// Every charged block holds at least blockSize bytes of the budget,
	// so this capacity is more than the budget ever lets in (see send).
	q := &queue{ch: make(chan *block, limit/blockSize+64), limit: limit}
	q.cond.L = &q.mu
	return q
}

// acquire waits until n bytes fit (a single charge larger than the limit
// waits for an empty queue). It returns false once the queue is closed.
func (q *queue) acquire(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.closed && q.used > 0 && q.used+n > q.limit {
		q.cond.Wait()
	}
	if q.closed {
		return false
	}
	q.used += n
	return true
}

func (q *queue) release(n int) {
	q.mu.Lock()
	q.used -= n
	q.mu.Unlock()
	q.cond.Broadcast()
}

// send queues blk for the output goroutine, unless the queue is closed:
// then it reports false and blk was not queued. The check and the send
// are one step under q.mu, so that no block slips into the queue after the
// output goroutine took its last look (a line source Shutdown gave up on
// keeps reading). The send does not wait in practice: the channel holds
// more blocks than the budget lets in; were it full, send would wait for
// the output goroutine to take a block out (release wakes it).
func (q *queue) send(blk *block) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.closed {
		select {
		case q.ch <- blk:
			return true
		default:
			q.cond.Wait()
		}
	}
	return false
}

// close refuses every later acquire and send, and wakes the readers that
// wait for room. The output goroutine closes the queue before its last
// look into it.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// put gives b back, releasing its charge if charged: a pooled block to the
// pool, the buffer of a block made for one long line to bufpool.
func (q *queue) put(b *block, charged bool) {
	if charged {
		q.release(b.charge)
	}
	if cap(b.buf) == blockSize {
		*b = block{buf: b.buf[:0]}
		blockPool.Put(b)
		return
	}
	bufpool.Put(b.buf)
	b.buf = nil
}

// record is one record as a reader hands it to its feeder. Its slices
// are the reader's and must stay unchanged only until add returns.
type record struct {
	data      []byte        // the record as received
	wrap      []byte        // fields before "msg" if data is wrapped, each followed by ',' (a line's time, syslog's header)
	tail      []byte        // fields the writer appends, each preceded by ',' (peer, session and sequence, stream)
	forceWrap bool          // wrap data even if it is a JSON object (a syslog message; a line found not to be one)
	scan      jsonline.Scan // if Valid, data is an object already scanned with it (a syslog JSON message, a line), not read again
	sess      *session      // ack mode: the session data belongs to
	seq       uint64        // and its sequence number in it
}

// feeder is a reader's side of the queue: it formats records into the
// reader's current block. Each reader owns one; only its goroutine uses
// it.
type feeder struct {
	s   *Server
	f   jsonline.Formatter
	blk *block
}

// add formats one record into the current block. It returns false if the
// output has stopped (the record is counted as lost).
func (fd *feeder) add(r record) bool {
	var n int
	if r.scan.Valid() {
		n = fd.f.PrepareScanned(r.data, r.scan, r.tail)
	} else {
		n = fd.f.Prepare(r.data, r.wrap, r.tail, r.forceWrap)
	}
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
	fd.blk.buf = fd.f.Emit(fd.blk.buf)
	fd.blk.records++
	if r.sess != nil {
		fd.blk.sess, fd.blk.seq = r.sess, r.seq
	}
	return true
}

// get takes a block for a line of n bytes: a pooled one, or one of its own
// for a line longer than blockSize (its buffer from bufpool), charged at
// its capacity.
func (fd *feeder) get(n int) bool {
	var b *block
	if n <= blockSize {
		b = blockPool.Get().(*block)
		b.charge = blockSize
	} else {
		buf := bufpool.Get(n)[:0]
		b = &block{buf: buf, charge: cap(buf)}
	}
	if !fd.s.q.acquire(b.charge) {
		fd.s.q.put(b, false)
		return false
	}
	fd.blk = b
	return true
}

// flush hands the current block to the output goroutine. Its records are
// counted as lost if the output has stopped.
func (fd *feeder) flush() {
	b := fd.blk
	if b == nil {
		return
	}
	fd.blk = nil
	if b.records == 0 {
		fd.s.q.put(b, true)
		return
	}
	if !fd.s.q.send(b) {
		fd.s.c.lost.Add(uint64(b.records))
		fd.s.q.put(b, true)
	}
}
