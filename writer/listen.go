package writer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

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
	a, err := wire.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	switch a.Transport {
	case wire.Stream:
		l, sock, err := listenStream(a.Path, s.cfg.socketMode, s.cfg.socketGroup)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		return s.addListener(l, sock)
	case wire.Datagram:
		c, sock, err := listenGram(a.Path, s.cfg.socketMode, s.cfg.socketGroup)
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

// socketFile is a socket file the Server created and removes at Shutdown.
type socketFile struct {
	path     string
	dev, ino uint64
}

// remove removes the socket file if it is still the one created. It may
// be called on nil.
func (sf *socketFile) remove() {
	if sf == nil {
		return
	}
	var st unix.Stat_t
	if unix.Lstat(sf.path, &st) == nil && uint64(st.Dev) == sf.dev && st.Ino == sf.ino {
		os.Remove(sf.path)
	}
}

func listenStream(path string, mode os.FileMode, gid int) (net.Listener, *socketFile, error) {
	var l *net.UnixListener
	sock, err := bindSocket(path, "unix", mode, gid, func(p string) error {
		var err error
		l, err = net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err == nil {
			l.SetUnlinkOnClose(false)
		}
		return err
	}, func() {
		if l != nil {
			l.Close()
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return l, sock, nil
}

func listenGram(path string, mode os.FileMode, gid int) (*net.UnixConn, *socketFile, error) {
	var c *net.UnixConn
	sock, err := bindSocket(path, "unixgram", mode, gid, func(p string) error {
		var err error
		c, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
		return err
	}, func() {
		if c != nil {
			c.Close()
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return c, sock, nil
}

// maxSocketPath is the longest path bind(2) takes (sun_path less the NUL).
const maxSocketPath = len(unix.RawSockaddrUnix{}.Path) - 1

// bindSocket creates a socket file at path through bind, with mode and
// group set before the file appears at path. cleanup undoes bind on error.
func bindSocket(path, network string, mode os.FileMode, gid int, bind func(string) error, cleanup func()) (*socketFile, error) {
	if err := checkPath(path, "socket"); err != nil {
		return nil, err
	}
	if err := checkStale(path, network); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	tmpDir, err := os.MkdirTemp(dir, ".logfanin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	bindPath := tmp
	if len(tmp) > maxSocketPath {
		// The private directory makes the path too long for bind: bind
		// through the directory's descriptor, whose /proc path is short,
		// so the socket still appears at path only with its mode set.
		d, err := os.Open(tmpDir)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		bindPath = fmt.Sprintf("/proc/self/fd/%d/s", d.Fd())
	}
	if err := bind(bindPath); err != nil {
		return nil, err
	}
	fail := func(err error) (*socketFile, error) {
		cleanup()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := os.Lchown(tmp, -1, gid); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fail(err)
	}
	return &socketFile{path: path, dev: uint64(st.Dev), ino: st.Ino}, nil
}

// checkStale refuses a path that is not a socket or has a live writer;
// a stale socket is left to be replaced.
func checkStale(path, network string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (%s)", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout(network, path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("another writer is listening on %s", path)
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return nil // stale: nobody listens
	}
	if errors.Is(err, syscall.EPROTOTYPE) {
		return fmt.Errorf("another writer is listening on %s (with another socket type)", path)
	}
	return fmt.Errorf("probe %s: %w", path, err)
}

// ListenUnix creates a Unix stream socket at path the way Listen does: a
// path where a live listener answers is refused, a stale socket replaced,
// and the file created with mode and group gid (-1: the process's own)
// with no moment of wider permissions. It serves other servers of the
// process, such as a metrics endpoint. Closing the listener removes the
// file if it is still the one created.
func ListenUnix(path string, mode os.FileMode, gid int) (net.Listener, error) {
	l, sock, err := listenStream(path, mode, gid)
	if err != nil {
		return nil, fmt.Errorf("listen unix://%s: %w", path, err)
	}
	return &ownedListener{Listener: l, sock: sock}, nil
}

type ownedListener struct {
	net.Listener
	sock *socketFile
	once sync.Once
}

func (l *ownedListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.sock.remove)
	return err
}
