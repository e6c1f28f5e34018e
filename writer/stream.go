package writer

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/unixsock"
	"github.com/logfanin/logfanin/internal/wire"
)

// errorFrameTimeout bounds the time spent sending an error frame to a
// client that does not read.
const errorFrameTimeout = time.Second

// streamListener is an input accepting stream connections.
type streamListener struct {
	s      *Server
	l      net.Listener
	sock   *unixsock.File // nil unless Listen created it
	closed atomic.Bool
}

// AddListener serves the stream connections l accepts, such as a socket
// passed by systemd socket activation. Shutdown closes l.
func (s *Server) AddListener(l net.Listener) error {
	return s.addListener(l, nil)
}

func (s *Server) addListener(l net.Listener, sock *unixsock.File) error {
	sl := &streamListener{s: s, l: l, sock: sock}
	if err := s.addInput(sl, false, sl.serve); err != nil {
		l.Close()
		sock.Remove()
		return err
	}
	return nil
}

// drain removes the socket file, so that no new client finds it, and
// wakes the accept loop, which accepts the connections already waiting in
// the backlog (their clients may have sent records and closed) before it
// closes the listener.
func (sl *streamListener) drain() {
	if sl.closed.CompareAndSwap(false, true) {
		sl.sock.Remove()
		if ul, ok := sl.l.(*net.UnixListener); ok && ul.SetDeadline(time.Now()) == nil {
			return
		}
		sl.l.Close()
	}
}

// acceptBacklog accepts, without waiting, the connections queued on l.
func (sl *streamListener) acceptBacklog() {
	ul, ok := sl.l.(*net.UnixListener)
	if !ok {
		return
	}
	rc, err := ul.SyscallConn()
	if err != nil {
		return
	}
	for {
		nfd := -1
		var aerr error
		if rc.Control(func(fd uintptr) { nfd, aerr = acceptNonblock(int(fd)) }) != nil || aerr != nil {
			return
		}
		f := os.NewFile(uintptr(nfd), "")
		nc, err := net.FileConn(f)
		f.Close()
		if err == nil {
			sl.s.serveConn(nc)
		}
	}
}

func (sl *streamListener) force() { sl.drain() }

func (sl *streamListener) serve() {
	backoff := 5 * time.Millisecond
	for {
		nc, err := sl.l.Accept()
		if err != nil {
			if sl.closed.Load() || errors.Is(err, net.ErrClosed) {
				sl.acceptBacklog()
				sl.l.Close()
				return
			}
			// Out of descriptors and the like: wait and retry.
			sl.s.diag.printf("accept on %s: %v", sl.l.Addr(), err)
			t := time.NewTimer(backoff)
			<-t.C
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		sl.s.serveConn(nc)
	}
}

// conn is one stream connection.
type conn struct {
	s        *Server
	nc       net.Conn
	fr       *wire.FrameReader
	fd       feeder
	pid      int32  // peer pid for diagnostics, 0 if unknown
	peerID   peerID // the kernel's word on the peer, which sessions are bound to
	peer     []byte
	tail     []byte
	forced   atomic.Bool
	cut      atomic.Bool   // a newer connection of the session cut this one off
	forcedCh chan struct{} // closed by force

	deadline   bool      // an idle deadline is set
	deadlineAt time.Time // and when it falls
	lastRead   time.Time // when the last read returned, while a deadline is set

	// Shared memory: until the first frame, reads take descriptors too;
	// after a hello with wire.HelloShm, data comes through ring and the
	// socket carries only wake-ups.
	awaitHello bool
	catch      shmring.FDCatcher
	ring       *shmring.Reader
	spaceDue   atomic.Bool // the ack loop owes the client a space notice

	// Acknowledgements in the ring (wire.HelloRingAck): the output
	// publishes them in ackRing, nil once the ring is unmapped, and wakes
	// the ack loop only for a client that waits, or once reading ended.
	ackMu     sync.Mutex
	ackRing   *shmring.Consumer
	readEnded bool

	// Ack mode.
	sess     *session
	nextSeq  uint64
	lastNext atomic.Uint64 // highest sequence read on this connection + 1
	ackWake  chan struct{}
	ackDone  chan struct{}
	readDone chan struct{}
	writeMu  sync.Mutex
}

func (s *Server) serveConn(nc net.Conn) {
	c := &conn{s: s, nc: nc, forcedCh: make(chan struct{})}
	c.fd.s = s
	cred, err := peerCred(nc)
	if err == nil {
		c.pid = cred.pid
		c.peerID = peerID{known: true, pid: uint32(cred.pid), uid: cred.uid}
		if s.cfg.peerCred {
			c.peer = appendCred(nil, cred)
		}
	} else if s.cfg.peerCred || s.cfg.allowUIDs != nil {
		s.diag.printf("connection from %s: no peer credentials: %v", nc.RemoteAddr(), err)
	}
	s.c.connections.Add(1)
	if s.cfg.allowUIDs != nil && (cred == nil || !s.cfg.allowUIDs[cred.uid]) {
		s.c.refused.Add(1)
		uid := "unknown"
		if cred != nil {
			uid = strconv.FormatUint(uint64(cred.uid), 10)
		}
		s.diag.printf("refusing connection from %s: uid %s not allowed", c.who(), uid)
		// Sending the error frame may take up to errorFrameTimeout: not
		// in the accept loop.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.sendError(wire.CodeRefused, "uid "+uid+" not allowed")
			nc.Close()
		}()
		return
	}
	c.fr = wire.NewFrameReader(c, s.cfg.maxRecord)
	c.fr.SetBudget(connBudget{c})
	c.awaitHello = true
	c.catch.Conn, _ = nc.(*net.UnixConn)
	s.c.clientsNow.Add(1)
	s.addChild(c, c.serve)
}

func (c *conn) who() string {
	if c.pid != 0 {
		return "pid " + strconv.Itoa(int(c.pid))
	}
	return "peer " + c.nc.RemoteAddr().String()
}

// Read is what the FrameReader reads through. Before it may block, it
// hands the records decoded so far to the output, and it arms the idle
// deadline while the connection is inside a frame. The deadline counts
// the time spent waiting for the client only: the time the writer itself
// took between two reads (handing records to a stalled output, waiting
// for the session's previous connection) pushes it back.
func (c *conn) Read(p []byte) (int, error) {
	c.fd.flush()
	if c.forced.Load() {
		if c.deadline {
			c.nc.SetReadDeadline(time.Time{})
			c.deadline = false
		}
	} else if c.fr.Buffered() > 0 {
		now := time.Now()
		if !c.deadline {
			c.deadlineAt = now.Add(c.s.cfg.idleTimeout)
			c.nc.SetReadDeadline(c.deadlineAt)
			c.deadline = true
		} else if busy := now.Sub(c.lastRead); busy > time.Millisecond {
			// Shorter gaps are not worth a timer update against an
			// idle timeout of seconds.
			c.deadlineAt = c.deadlineAt.Add(busy)
			c.nc.SetReadDeadline(c.deadlineAt)
		}
	} else if c.deadline {
		c.nc.SetReadDeadline(time.Time{})
		c.deadline = false
	}
	n, err := c.read(p)
	if c.deadline {
		c.lastRead = time.Now()
	}
	return n, err
}

func (c *conn) read(p []byte) (int, error) {
	switch {
	case c.ring != nil:
		if c.forced.Load() || c.cut.Load() {
			// Take what was sent before Shutdown (or before a newer
			// connection of the session cut this one off), not whatever
			// a busy client keeps adding: that is replayed.
			c.ring.C.Freeze()
		}
		return c.ring.Read(p)
	case c.awaitHello && c.catch.Conn != nil:
		return c.catch.Read(p)
	}
	return c.nc.Read(p)
}

// startRing takes the data path of a connection whose hello asks for
// shared memory into the ring passed with the hello.
func (c *conn) startRing(h wire.Hello) error {
	defer c.catch.Close()
	if h.Flags&wire.HelloShm == 0 {
		return nil
	}
	if c.catch.File == nil {
		return errors.New("hello asks for shared memory but passed no descriptor")
	}
	r, err := shmring.Map(c.catch.File)
	if err != nil {
		return err
	}
	if r.Size() > c.s.cfg.maxRing {
		r.Close()
		return fmt.Errorf("ring of %d bytes over this writer's limit of %d", r.Size(), c.s.cfg.maxRing)
	}
	c.ring = shmring.NewReader(r, c.nc, func() {
		c.spaceDue.Store(true)
		c.notifyAck()
	})
	c.fr.Discard() // wake-ups sent along with the hello
	c.s.c.sharedRings.Add(1)
	if h.Flags&wire.HelloRingAck != 0 {
		c.ackMu.Lock()
		c.ackRing = r
		c.ackMu.Unlock()
		c.written() // what an earlier connection of the session had written
	}
	// The first space notice tells the client the ring is taken: until
	// then it copies nothing into it.
	c.spaceDue.Store(true)
	c.notifyAck()
	return nil
}

// drain does nothing: a connection ends when its client closes it.
func (c *conn) drain() {}

// force stops reading: the kernel still returns what it has buffered, then
// end of stream.
func (c *conn) force() {
	if !c.forced.CompareAndSwap(false, true) {
		return
	}
	close(c.forcedCh)
	// A client that does not read could hold an ack or space notice in
	// write(2) forever, and Shutdown with it: the last words get a bound.
	c.nc.SetWriteDeadline(time.Now().Add(errorFrameTimeout))
	if cr, ok := c.nc.(interface{ CloseRead() error }); ok && cr.CloseRead() == nil {
		return
	}
	c.nc.SetReadDeadline(time.Now())
}

func (c *conn) serve() {
	defer func() {
		c.nc.Close()
		c.fr.Release()
		c.fd.f.release()
		c.catch.Close()
		if c.ring != nil {
			c.ackMu.Lock()
			c.ackRing = nil
			c.ackMu.Unlock()
			c.ring.C.Close()
		}
		c.s.c.clientsNow.Add(-1) // last: a client counted gone holds nothing
	}()
	for {
		f, err := c.fr.Next()
		if err != nil {
			c.fd.flush()
			c.readError(err)
			break
		}
		first := c.awaitHello
		c.awaitHello = false
		if f.Control {
			if first {
				h, ok, err := c.hello(f.Payload)
				if err != nil {
					c.s.c.sessionsRefused.Add(1)
					c.s.diag.printf("closing connection from %s: hello refused: %v", c.who(), err)
					c.sendError(wire.CodeSession, err.Error())
					break
				}
				if ok {
					err := c.startRing(h)
					if err == nil {
						continue
					}
					c.protocolErrorf("shared ring: %v", err)
					break
				}
			}
			c.fd.flush()
			c.protocolError(f.Payload)
			break
		}
		if first {
			c.catch.Close()
		}
		c.record(f.Payload)
	}
	if c.sess != nil {
		c.ackMu.Lock()
		c.readEnded = true
		c.ackMu.Unlock()
		close(c.readDone)
		<-c.ackDone
		c.sess.acker.CompareAndSwap(c, nil)
		c.sess.latest.CompareAndSwap(c, nil)
	}
}

func (c *conn) record(rec []byte) {
	if c.sess == nil {
		c.fd.add(record{data: rec, tail: c.peer})
		return
	}
	seq := c.nextSeq
	c.nextSeq++
	c.lastNext.Store(seq + 1)
	if !c.sess.accept(seq) {
		c.s.c.duplicates.Add(1)
		c.written()
		return
	}
	c.tail = append(c.tail[:0], c.sess.prefix...)
	c.tail = strconv.AppendUint(c.tail, seq, 10)
	c.tail = append(c.tail, c.peer...)
	c.fd.add(record{data: rec, tail: c.tail, sess: c.sess, seq: seq})
}

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
	if !frame {
		frame = c.ackRing.PublishAck(c.sess.writtenNext.Load())
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
			c.sendAck(&buf, &sent)
			return
		case <-c.s.abort:
			return
		}
		if c.spaceDue.Swap(false) && !c.sendSpace(&buf) {
			return
		}
		ok := c.sendAck(&buf, &sent)
		// Reading has ended: stay until the last record read is acked,
		// unless sending failed, Shutdown forced the connection, or a
		// newer connection of the session acknowledges the rest.
		if readDone == nil && (!ok || sent >= c.lastNext.Load() || c.forced.Load() || c.sess.acker.Load() != c) {
			return
		}
	}
}

// sendAck sends the highest sequence written if it has not been sent; it
// returns false if the connection can't be written to.
func (c *conn) sendAck(buf *[]byte, sent *uint64) bool {
	w := c.sess.writtenNext.Load()
	if w == 0 || w <= *sent {
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

// sendError sends the writer's last word before closing.
func (c *conn) sendError(code uint16, msg string) {
	b := wire.AppendError(nil, wire.ErrorFrame{Code: code, Message: msg})
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(errorFrameTimeout))
	c.nc.Write(b)
}

func (c *conn) protocolError(p []byte) {
	reason := "control frame out of place"
	if _, err := wire.ParseControl(p); err != nil {
		reason = err.Error()
	}
	c.protocolErrorf("%s", reason)
}

func (c *conn) protocolErrorf(format string, args ...any) {
	reason := fmt.Sprintf(format, args...)
	c.s.c.protocolErrors.Add(1)
	c.s.diag.printf("closing connection from %s: protocol error: %s", c.who(), reason)
	c.sendError(wire.CodeProtocol, reason)
}

func (c *conn) readError(err error) {
	var se *wire.SizeError
	switch {
	case errors.Is(err, io.EOF):
	case errors.Is(err, wire.ErrTruncated):
		c.s.c.partial.Add(1)
		if !c.forced.Load() {
			c.s.diag.printf("connection from %s ended inside a frame: half record discarded", c.who())
		}
	case errors.As(err, &se):
		if !se.Control {
			c.s.c.tooLarge.Add(1)
			c.sendError(wire.CodeTooLarge, fmt.Sprintf("record of %d bytes over the limit of %d", se.Len, se.Max))
		} else {
			c.s.c.protocolErrors.Add(1)
			c.sendError(wire.CodeProtocol, se.Error())
		}
		c.s.diag.printf("closing connection from %s: %v", c.who(), se)
	case errors.Is(err, shmring.ErrFlood):
		// What the ring held was read: only the flood is refused.
		c.s.c.cutOff.Add(1)
		c.s.diag.printf("closing connection from %s: %v", c.who(), err)
		c.sendError(wire.CodeFlood, err.Error())
	case errors.Is(err, shmring.ErrCorrupt):
		if c.fr.Buffered() > 0 {
			c.s.c.partial.Add(1)
		}
		c.protocolErrorf("%v", err)
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.forced.Load():
		c.s.c.idleClosed.Add(1)
		c.s.c.partial.Add(1)
		c.s.diag.printf("closing connection from %s: stalled inside a frame for %v", c.who(), c.s.cfg.idleTimeout)
		c.sendError(wire.CodeIdle, "stalled inside a frame")
	default:
		if c.fr.Buffered() > 0 {
			c.s.c.partial.Add(1)
		}
		if !c.forced.Load() && !errors.Is(err, syscall.ECONNRESET) {
			c.s.diag.printf("connection from %s: %v", c.who(), err)
		}
	}
}
