package writer

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/logfanin/logfanin/internal/unixsock"
)

// Stream listeners
//
// A stream listener is an input of its own: its goroutine accepts
// connections and hands each to serveConn (stream_conn.go), which makes
// it a child input with a goroutine of its own. Shutdown's drain stops
// accepting new clients but still takes those already waiting in the
// backlog, whose records may be sent and their sockets closed.

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
