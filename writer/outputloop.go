package writer

import (
	"bytes"
	"fmt"
	"io"
	"time"
)

// outputLoop is the output goroutine: the one user of the Server's
// Output. It takes the readers' blocks out of the queue, gathers them
// into a batch of up to WithBatchSize bytes and writes the batch with one
// Write as soon as no block is waiting or the batch is full, so under
// load one write(2) carries many records and when idle a record is
// written at once. A failing Write is retried with backoff until it
// succeeds or Shutdown gives up (abort). After each write it tells the
// sessions whose records the write held, which acknowledge them. Reopen
// requests are served between two writes.
//
// Nothing but run and the methods it calls touches the batch, the acks
// or the Output, except Server.Reopen before run starts (under s.mu) and
// Shutdown's Close after run has returned.
type outputLoop struct {
	out        Output
	batchSize  int
	q          *queue
	c          *counters
	diag       *diag
	reopenCh   chan chan error // Reopen's requests, answered between two writes
	inputsDone <-chan struct{} // closed by Shutdown once the inputs it waits for have ended
	abort      <-chan struct{} // closed when Shutdown's context expires: give up on failing writes
	done       chan struct{}   // closed when run returns: no more writes

	// The batch being gathered.
	batch   []byte
	records int
	acks    []ackNote // the sessions with records in batch, and their highest sequence
}

// ackNote remembers that a batch holds records of a session up to seq.
type ackNote struct {
	sess *session
	seq  uint64
}

func newOutputLoop(out Output, s *Server) *outputLoop {
	return &outputLoop{
		out:        out,
		batchSize:  s.cfg.batchSize,
		q:          s.q,
		c:          &s.c,
		diag:       s.diag,
		reopenCh:   make(chan chan error),
		inputsDone: s.inputsDone,
		abort:      s.abort,
		done:       make(chan struct{}),
	}
}

// run is the output goroutine. It returns once Shutdown has closed
// inputsDone and the queue is empty, with everything written or given up
// on.
func (o *outputLoop) run() {
	defer close(o.done)
	o.batch = make([]byte, 0, o.batchSize)
	for {
		if len(o.batch) == 0 {
			select {
			case b := <-o.q.ch:
				o.addBlock(b)
			case req := <-o.reopenCh:
				req <- o.reopen()
			case <-o.inputsDone:
				o.finish()
				return
			}
			continue
		}
		select {
		case b := <-o.q.ch:
			o.addBlock(b)
			continue
		default:
		}
		o.flushBatch()
	}
}

// finish writes what is left. No input is running but those Shutdown
// gave up on: the queue is closed to them first, so that nothing they
// read later slips in behind the last batch (they count it as lost).
func (o *outputLoop) finish() {
	o.q.close()
	for {
		select {
		case b := <-o.q.ch:
			o.addBlock(b)
		default:
			o.flushBatch()
			return
		}
	}
}

// addBlock copies b into the batch, writing the batch first if b does not
// fit, and gives b back to the queue. A block as large as a full one is
// written on its own instead, after the batch: copying it would cost more
// than the system call it saves.
func (o *outputLoop) addBlock(b *block) {
	alone := len(b.buf) >= min(blockSize, o.batchSize)
	if len(o.batch) > 0 && (alone || len(o.batch)+len(b.buf) > o.batchSize) {
		o.flushBatch()
	}
	if alone {
		// Large enough on its own: write it without copying.
		if ok := o.write(b.buf, b.records); b.sess != nil {
			b.sess.written(b.seq, ok)
		}
		o.q.put(b, true)
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
	o.q.put(b, true)
}

// flushBatch writes the batch and tells its sessions.
func (o *outputLoop) flushBatch() {
	if len(o.batch) == 0 {
		return
	}
	ok := o.write(o.batch, o.records)
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

// write writes p, whole records only, to the output, retrying failures
// with backoff until they succeed or Shutdown gives up (then the records
// not written are counted as lost). It reports whether all of p was
// written: records given up on must not be acknowledged, so that their
// senders replay them to the next writer.
func (o *outputLoop) write(p []byte, records int) bool {
	backoff := minBackoff
	for len(p) > 0 {
		n, err := o.out.Write(p)
		if n < 0 || n > len(p) {
			n, err = 0, fmt.Errorf("output returned a bad count %d for %d bytes", n, len(p))
		}
		if n > 0 {
			p = p[n:]
			o.c.bytes.Add(uint64(n))
			if err == nil {
				o.c.writes.Add(1)
				backoff = minBackoff
				continue // a short write: resume with the rest
			}
		}
		if err == nil {
			err = io.ErrShortWrite // nothing written, and no error
		}
		o.c.writeErrors.Add(1)
		select {
		case <-o.abort:
			lost := countLines(p)
			o.c.lost.Add(uint64(lost))
			records -= lost
			o.diag.printf("output write failed, giving up on %d records at shutdown: %v", lost, err)
			o.c.records.Add(uint64(max(records, 0)))
			return false
		default:
		}
		o.diag.printf("output write failed, retrying in %v: %v", backoff, err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-o.abort:
		case req := <-o.reopenCh:
			req <- o.reopen()
		}
		t.Stop()
		backoff = min(2*backoff, maxBackoff)
	}
	o.c.records.Add(uint64(records))
	return true
}

// countLines counts the records in p, whole lines and a cut last one.
func countLines(p []byte) int {
	n := bytes.Count(p, []byte{'\n'})
	if len(p) > 0 && p[len(p)-1] != '\n' {
		n++
	}
	return n
}

// reopen reopens the output (between two writes) and counts it.
func (o *outputLoop) reopen() error {
	if err := o.out.Reopen(); err != nil {
		o.diag.printf("reopen output: %v", err)
		return fmt.Errorf("reopen output: %w", err)
	}
	o.c.reopens.Add(1)
	return nil
}
