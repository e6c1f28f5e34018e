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

	"github.com/logfanin/logfanin/internal/jsonline"
	"github.com/logfanin/logfanin/internal/pyrecord"
	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
)

// Stream connections
//
// A conn is one accepted stream connection and its reader goroutine
// (serve): it decodes frames through a wire.FrameReader, from the socket
// or, after a hello asking for it, from a shared ring (shmring), hands
// records to its feeder, and closes the connection with an error frame on
// bad input. A connection in ack mode also has an ack loop, a second
// goroutine that writes acks and space notices (stream_acks.go); writeMu
// keeps its frames and the reader's error frame whole.

// errorFrameTimeout bounds the time spent sending an error frame to a
// client that does not read.
const errorFrameTimeout = time.Second

// conn is one stream connection. Fields without a note belong to the
// reader goroutine (serve) alone; the atomics and channels are how Shutdown,
// the ack loop, the output goroutine and a newer connection of the session
// reach it.
type conn struct {
	s        *Server
	nc       net.Conn
	fr       *wire.FrameReader
	fd       feeder
	peerID   peerID        // the kernel's word on the peer: sessions are bound to it, diagnostics name its pid
	peer     []byte        // WithPeerCred: the peer fields every record gets
	tail     []byte        // scratch for a record's tail in ack mode: session, sequence, peer
	py       bool          // the hello asked for Python records (wire.HelloPyRecords)
	pyJSON   []byte        // scratch for a Python record turned into JSON
	pyBad    bool          // a malformed Python record was reported
	forced   atomic.Bool   // set by force (Shutdown's context expired)
	cut      atomic.Bool   // a newer connection of the session cut this one off
	forcedCh chan struct{} // closed by force: wakes a wait for frame memory

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
	ackAsked   atomic.Bool // the ack loop owes a client waiting in the ring an ack frame

	// Acknowledgements in the ring (wire.HelloRingAck): the output
	// publishes them in ackRing, nil once the ring is unmapped, and wakes
	// the ack loop only for a client that waits, or once reading ended.
	ackMu     sync.Mutex // guards ackRing and readEnded
	ackRing   *shmring.Consumer
	readEnded bool

	// Ack mode (stream_acks.go); all nil or zero without a hello asking
	// for acks.
	sess     *session
	nextSeq  uint64        // the sequence of the next record read
	lastNext atomic.Uint64 // highest sequence read on this connection + 1
	ackWake  chan struct{} // wakes the ack loop; a buffer of one, sends never wait
	ackDone  chan struct{} // closed when the ack loop ends
	readDone chan struct{} // closed when the reader has queued its last record
	writeMu  sync.Mutex    // one frame at a time on nc: acks, space notices, the error frame
}

// serveConn takes an accepted connection: it learns the peer from the
// kernel (sessions are bound to it, WithPeerCred stamps records with it),
// refuses a peer WithAllowUIDs does not allow, and starts the
// connection's reader as a child input of the Server.
func (s *Server) serveConn(nc net.Conn) {
	c := &conn{s: s, nc: nc, forcedCh: make(chan struct{})}
	c.fd.s = s
	cred, err := peerCred(nc)
	if err == nil {
		c.peerID = peerID{known: true, pid: uint32(cred.pid), uid: cred.uid}
		if s.cfg.peerCred {
			c.peer = appendCred(nil, cred)
		}
	} else if s.cfg.peerCred || s.cfg.allowUIDs != nil {
		s.diag.printf("connection from %s: no peer credentials: %v", nc.RemoteAddr(), err)
	}
	s.c.connections.Add(1)
	if uid, refused := s.refuses(cred); refused {
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

// who names the peer in diagnostics.
func (c *conn) who() string {
	if c.peerID.pid != 0 {
		return "pid " + strconv.FormatUint(uint64(c.peerID.pid), 10)
	}
	return "peer " + c.nc.RemoteAddr().String()
}

// Read is what the FrameReader reads through. Before it may block, it
// hands the records decoded so far to the output (a shared ring's reader
// does that itself, and only when the ring is empty, see startRing: a
// client that keeps the ring filled gets its records handed over a block
// at a time, not a read at a time), and it arms the idle deadline while
// the connection is inside a frame. The deadline counts the time spent
// waiting for the client only: the time the writer itself took between
// two reads (handing records to a stalled output, waiting for the
// session's previous connection) pushes it back.
func (c *conn) Read(p []byte) (int, error) {
	if c.ring == nil {
		c.fd.flush()
	}
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
	c.ring.Idle = c.fd.flush
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

// serve is the connection's reader goroutine. The first frame may be a
// hello (ack mode, perhaps a shared ring); any other control frame from a
// client is a protocol error. It ends at the client's end of stream or at
// the first error, then, in ack mode, waits for the ack loop, so that the
// connection is closed only after its last ack.
func (c *conn) serve() {
	defer func() {
		c.nc.Close()
		c.fr.Release()
		c.fd.f.Release()
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
					c.py = h.Flags&wire.HelloPyRecords != 0
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

// record hands one record to the feeder. In ack mode it numbers the
// record, skips one the session has already accepted (a replay after a
// reconnect), and stamps the session and sequence at its end.
func (c *conn) record(rec []byte) {
	var scan jsonline.Scan // zero: the feeder reads the record
	if c.py && pyrecord.IsRecord(rec) {
		rec, scan = c.pyRecord(rec)
		defer c.dropLargePyJSON()
	}
	if c.sess == nil {
		c.fd.add(record{data: rec, scan: scan, tail: c.peer})
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
	c.fd.add(record{data: rec, scan: scan, tail: c.tail, sess: c.sess, seq: seq})
}

// pyRecord turns a Python record into the JSON object its client would
// have written itself. A malformed one is returned as it came, to be
// written as any record that is not a JSON object is (wrapped, its bytes
// escaped), and reported once per connection. The JSON comes with its
// scan: the feeder need not read it again.
func (c *conn) pyRecord(rec []byte) ([]byte, jsonline.Scan) {
	j, scan, err := pyrecord.AppendJSON(c.pyJSON[:0], rec)
	c.pyJSON = j // also on error: what it grew
	if err != nil {
		if !c.pyBad {
			c.pyBad = true
			c.s.diag.printf("connection from %s: %v; the record is written as text", c.who(), err)
		}
		return rec, 0
	}
	c.s.c.pyRecords.Add(1)
	return j, scan
}

// dropLargePyJSON lets go of a scratch buffer a large record grew, so
// that an idle connection does not hold it (the feeder has copied the
// record).
func (c *conn) dropLargePyJSON() {
	if cap(c.pyJSON) > 64<<10 {
		c.pyJSON = nil
	}
}

// sendError sends the writer's last word before closing.
func (c *conn) sendError(code uint16, msg string) {
	b := wire.AppendError(nil, wire.ErrorFrame{Code: code, Message: msg})
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(errorFrameTimeout))
	c.nc.Write(b)
}

// protocolError closes the connection over a control frame that is
// malformed or out of place, telling the client which.
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

// readError counts and reports why reading ended, and tells the client
// with an error frame when the writer is the one closing: a clean end of
// stream and a client gone are not errors, a half frame is a Partial
// record, each other cause has its counter and error code.
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
