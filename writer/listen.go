package writer

import (
	"fmt"
	"os"

	"github.com/logfanin/logfanin/internal/unixsock"
	"github.com/logfanin/logfanin/internal/wire"
	"golang.org/x/sys/unix"
)

// Listen adds an input by address:
//
//	unix://PATH       a Unix stream socket at PATH, length-prefixed frames
//	unixgram://PATH   a Unix datagram socket at PATH, one record per datagram
//	fd:N              the inherited read end of a pipe, descriptor N
//
// A socket file is created with the mode of WithSocketMode (0600) from the
// first moment it exists: it is bound inside a fresh private directory
// next to PATH, given its mode (and group), then renamed to PATH. If PATH
// is a socket a live writer answers on, Listen refuses; if nothing answers
// (a writer that died), the stale socket is replaced. If PATH exists and is
// not a socket, Listen refuses. Shutdown removes the socket file, unless
// another writer has replaced it since.
func (s *Server) Listen(addr string) error {
	if s.cfgErr != nil {
		return s.cfgErr
	}
	a, err := wire.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	switch a.Transport {
	case wire.Stream:
		l, sock, err := unixsock.ListenStream(a.Path, s.cfg.socketMode, s.cfg.socketGroup)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		return s.addListener(l, sock)
	case wire.Datagram:
		c, sock, err := unixsock.ListenGram(a.Path, s.cfg.socketMode, s.cfg.socketGroup)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		if err := s.addPacketConn(c, sock); err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(a.FD, &st); err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return fmt.Errorf("listen %s: descriptor %d is not a pipe", addr, a.FD)
	}
	if err := s.AddPipe(os.NewFile(uintptr(a.FD), addr)); err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return nil
}
