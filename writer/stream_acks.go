package writer

import (
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// Acknowledgements on a stream connection
//
// A connection whose hello asks for acks joins its session (session.go),
// waits for the session's previous connection to be read to its end, and
// starts an ack loop: a goroutine that sends an ack frame whenever the
// output goroutine reports records of the session written (written), and
// a space notice when the client's shared ring has room again. Once the
// reader has ended, the ack loop stays until the last record read is
// acknowledged, a newer connection of the session takes over, the output
// stops or Shutdown forces the connection; the reader's serve waits for
// it before the connection is closed.

// hello handles the first frame if it is a hello, and reports whether it
// was. A hello for a session that another process owns is refused with
// errSessionOwned, before anything of the session changed.
func (c *conn) hello(p []byte) (wire.Hello, bool, error) {
	v, err := wire.ParseControl(p)
	h, ok := v.(wire.Hello)
	if err != nil || !ok {
		return h, false, nil
	}
	if h.Flags&wire.HelloAck == 0 {
		return h, true, nil
	}
	c.nextSeq = h.FirstSeq
	c.ackWake = make(chan struct{}, 1)
	c.ackDone = make(chan struct{})
	c.readDone = make(chan struct{}) // before join publishes c to the next connection
	// The session's connections are read one after the other, in the
	// order of their hellos.
	sess, prev, err := c.s.join(h.Session, c)
	if err != nil {
		return h, false, err
	}
	c.sess = sess
	if prev != nil {
		c.awaitPrevious(prev)
	}
	c.sess.acker.Store(c) // last: the output reaches c through it
	if prev != nil {
		prev.notifyAck() // its ack loop may end: c acknowledges for the session now
	}
	go c.ackLoop()
	return h, true, nil
}

// testHookAwaitPrevious, when set by a test, is called as a connection
// starts waiting for its session's previous one.
var testHookAwaitPrevious func(c, prev *conn)

// handoverWait is how long a session's new connection lets the previous
// one take more data before cutting it off (a variable for tests).
var handoverWait = 5 * time.Second

// awaitPrevious waits until the session's previous connection has read
// and queued its last record, so that the records of the two connections
// reach the output in the order the client sent them and an ack on the new
// connection never covers a record of the old one still in the queue.
//
// A client reconnects after shutting down its old connection, so the wait
// is that of the old connection's records already sent, however long a
// stalled output makes it. An old connection that is still open after
// handoverWait (its socket held by another process) is cut off: it is
// read up to what the kernel has buffered, or what its shared ring holds,
// then ends; what it would have sent later is refused. Shutdown forces
// the old connection as well, so the wait holds then too.
func (c *conn) awaitPrevious(prev *conn) {
	if testHookAwaitPrevious != nil {
		testHookAwaitPrevious(c, prev)
	}
	t := time.NewTimer(handoverWait)
	defer t.Stop()
	select {
	case <-prev.readDone:
		return
	case <-t.C:
	}
	prev.cut.Store(true)
	cr, ok := prev.nc.(interface{ CloseRead() error })
	if ok && cr.CloseRead() == nil {
		c.s.diag.printf("connection from %s: the previous connection of its session is still open after %v: reading it only up to what it has buffered", c.who(), handoverWait)
	} else {
		c.s.diag.printf("connection from %s: the previous connection of its session is still open after %v and can't be cut off: waiting for it to end", c.who(), handoverWait)
	}
	<-prev.readDone
}

// written tells the connection that its session's records up to
// sess.writtenNext are written: the ack loop sends an ack frame, or, for a
// client that reads acknowledgements in the ring, the value is published
// there and the ack loop wakes only if the client waits for a frame.
func (c *conn) written() {
	c.ackMu.Lock()
	frame := c.ackRing == nil || c.readEnded
	if !frame && c.ackRing.PublishAck(c.sess.writtenNext.Load()) {
		// The client waits for a frame and this call took its wait: it
		// gets one even if the ack loop sent this value already (it may
		// have, since writtenNext moves before written is called), or
		// the client would wait on with no one to wake it.
		frame = true
		c.ackAsked.Store(true)
	}
	c.ackMu.Unlock()
	if frame {
		c.notifyAck()
	}
}

func (c *conn) notifyAck() {
	if c.ackWake == nil {
		return
	}
	select {
	case c.ackWake <- struct{}{}:
	default:
	}
}

// ackLoop sends acks as batches are written. Once reading has ended it
// stays until every record read has been acknowledged (a client may close
// its sending side and wait for the last ack), a newer connection of the
// session takes over, the output stops, or Shutdown forces the connection.
func (c *conn) ackLoop() {
	defer close(c.ackDone)
	var buf []byte
	var sent uint64 // highest sequence acked + 1
	readDone := c.readDone
	for {
		select {
		case <-c.ackWake:
		case <-readDone:
			readDone = nil
		case <-c.s.output.done:
			c.sendAck(&buf, &sent, c.ackAsked.Swap(false))
			return
		case <-c.s.abort:
			return
		}
		if c.spaceDue.Swap(false) && !c.sendSpace(&buf) {
			return
		}
		ok := c.sendAck(&buf, &sent, c.ackAsked.Swap(false))
		// Reading has ended: stay until the last record read is acked,
		// unless sending failed, Shutdown forced the connection, or a
		// newer connection of the session acknowledges the rest.
		if readDone == nil && (!ok || sent >= c.lastNext.Load() || c.forced.Load() || c.sess.acker.Load() != c) {
			return
		}
	}
}

// sendAck sends the highest sequence written if it has not been sent, or
// if asked is set (a client waiting in the ring asked for a frame); it
// returns false if the connection can't be written to.
func (c *conn) sendAck(buf *[]byte, sent *uint64, asked bool) bool {
	w := c.sess.writtenNext.Load()
	if w == 0 || (w <= *sent && !asked) {
		return true
	}
	*buf = wire.AppendAck((*buf)[:0], wire.Ack{Seq: w - 1})
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.nc.Write(*buf); err != nil {
		return false
	}
	*sent = w
	c.s.c.acks.Add(1)
	return true
}

// sendSpace tells the client that its shared ring has room again.
func (c *conn) sendSpace(buf *[]byte) bool {
	*buf = wire.AppendSpace((*buf)[:0])
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err := c.nc.Write(*buf)
	return err == nil
}
