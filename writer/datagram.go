package writer

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/logfanin/logfanin/internal/unixsock"
	"golang.org/x/sys/unix"
)

// datagramReadBuffer is the SO_RCVBUF asked for datagram sockets.
const datagramReadBuffer = 8 << 20

// gram is an input reading one record per datagram.
type gram struct {
	s  *Server
	pc net.PacketConn
	uc *net.UnixConn   // pc, if it is a Unix socket
	rc syscall.RawConn // uc's, for reads that do not wait
	// q reads what is queued on uc without waiting; nil for other
	// sockets.
	q      *queued
	sock   *unixsock.File
	stop   atomic.Bool
	fd     feeder
	buf    []byte // the waiting read's buffer: q's first slot, if q is set
	oob    []byte
	fields []byte
	tail   []byte
}

// AddPacketConn serves c, one record per datagram, such as a socket passed
// by systemd socket activation. Shutdown reads what is queued on c and
// closes it. With WithPeerCred, c must be a Unix socket; SO_PASSCRED is
// turned on so that every datagram carries its sender's credentials.
func (s *Server) AddPacketConn(c net.PacketConn) error {
	return s.addPacketConn(c, nil)
}

func (s *Server) addPacketConn(c net.PacketConn, sock *unixsock.File) error {
	g := &gram{s: s, pc: c, sock: sock}
	fail := func(err error) error {
		g.q.release()
		c.Close()
		sock.Remove()
		return err
	}
	g.fd.s = s
	g.uc, _ = c.(*net.UnixConn)
	if g.uc != nil {
		if err := g.setup(); err != nil {
			return fail(err)
		}
	} else {
		if s.cfg.peerCred || s.cfg.allowUIDs != nil {
			return fail(errors.New("peer credentials and the uid allowlist need a Unix datagram socket"))
		}
		g.buf = make([]byte, s.cfg.maxRecord+1) // read one datagram at a time
	}
	if !datagramCreds {
		if s.cfg.allowUIDs != nil {
			return fail(errors.New("the uid allowlist on a datagram socket needs sender credentials, which this platform does not give: use a stream socket"))
		}
		if s.cfg.peerCred {
			s.diag.printf("datagram socket %s: this platform gives no sender credentials: its records carry no peer fields", c.LocalAddr())
		}
	}
	if err := s.addInput(g, false, g.serve); err != nil {
		return fail(err)
	}
	return nil
}

func (g *gram) setup() error {
	rc, err := g.uc.SyscallConn()
	if err != nil {
		return err
	}
	g.rc = rc
	var serr error
	err = rc.Control(func(fd uintptr) { serr = setupDatagramSocket(int(fd), g.creds()) })
	if err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	oobSize := 0
	if g.creds() {
		oobSize = credOOBSize
	}
	if g.q, err = newQueued(g.s.cfg.maxRecord+1, oobSize); err != nil {
		return fmt.Errorf("datagram read buffers: %w", err)
	}
	g.buf, g.oob = g.q.slot(0)
	return nil
}

// creds reports whether datagrams need their sender's credentials, and
// the platform gives them.
func (g *gram) creds() bool {
	return datagramCreds && (g.s.cfg.peerCred || g.s.cfg.allowUIDs != nil)
}

// drain removes the socket file so no new sender finds it, then makes the
// reader read what is queued and stop.
func (g *gram) drain() {
	if g.stop.CompareAndSwap(false, true) {
		g.sock.Remove()
		g.pc.SetReadDeadline(time.Now())
	}
}

func (g *gram) force() { g.drain() }

// serve reads datagrams until drain. What is queued on the socket is read
// without waiting, several datagrams a call where the platform can, and
// the records formatted so far are handed to the output only when the
// queue is empty, before a read that may wait: a burst of datagrams makes
// one handover, not one each.
func (g *gram) serve() {
	defer g.q.release()
	defer g.pc.Close()
	for !g.stop.Load() {
		if g.readQueued() {
			continue
		}
		g.fd.flush()
		n, oobn, flags, err := g.read()
		if err != nil {
			if g.stop.Load() || errors.Is(err, net.ErrClosed) {
				break
			}
			g.s.diag.printf("datagram socket %s: %v", g.pc.LocalAddr(), err)
			continue
		}
		g.datagram(g.buf[:n], g.oob[:oobn], flags)
	}
	for g.readQueued() {
	}
	g.fd.flush()
}

// readQueued reads and formats the datagrams already queued on a Unix
// socket, without waiting and whatever the read deadline. It reports
// false if there were none (or the socket is not a Unix one, or reading
// it failed: the waiting read then tells).
func (g *gram) readQueued() bool {
	if g.q == nil || g.rc.Control(g.q.recv) != nil || g.q.n == 0 {
		return false
	}
	for i := range g.q.n {
		rec, oob, flags := g.q.at(i)
		g.datagram(rec, oob, flags)
	}
	return true
}

func (g *gram) read() (n, oobn, flags int, err error) {
	if g.uc != nil {
		n, oobn, flags, _, err = g.uc.ReadMsgUnix(g.buf, g.oob)
		return n, oobn, flags, err
	}
	n, _, err = g.pc.ReadFrom(g.buf)
	return n, 0, 0, err
}

// datagram formats one datagram, rec, received with the control
// messages oob and the flags of recvmsg(2).
func (g *gram) datagram(rec, oob []byte, flags int) {
	s := g.s
	s.c.datagrams.Add(1)
	if flags&unix.MSG_TRUNC != 0 || len(rec) > s.cfg.maxRecord {
		s.c.tooLarge.Add(1)
		s.diag.printf("datagram over the limit of %d bytes discarded", s.cfg.maxRecord)
		return
	}
	// Python's SysLogHandler ends a message with NUL, others with "\n".
	for len(rec) > 0 && rec[len(rec)-1] == 0 {
		rec = rec[:len(rec)-1]
	}
	g.tail = g.tail[:0]
	if g.creds() {
		cred := parseCred(oob)
		if uid, refused := s.refuses(cred); refused {
			s.diag.printf("datagram from uid %s dropped: uid not allowed", uid)
			return
		}
		if cred != nil && s.cfg.peerCred {
			g.tail = appendCred(g.tail, cred)
		}
	}
	if m, ok := parseSyslog(rec); ok {
		if obj, scan, ok := syslogJSON(m.msg); ok {
			// A JSON message is the record, with the header's fields
			// it lacks, then the writer's own.
			g.fields = appendSyslogTail(g.fields[:0], &m, time.Now(), obj)
			g.fields = append(g.fields, g.tail...)
			g.fd.add(record{data: obj, scan: scan, tail: g.fields})
			return
		}
		g.fields = appendSyslogFields(g.fields[:0], &m, time.Now())
		g.fd.add(record{data: m.msg, wrap: g.fields, tail: g.tail, forceWrap: true})
		return
	}
	g.fd.add(record{data: rec, tail: g.tail})
}
