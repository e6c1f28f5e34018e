// Package unixsock creates the socket files of the writer and the
// sidecar. A socket file gets its mode and group from the first moment it
// exists at its path: it is bound inside a fresh private directory next to
// the path, given its mode (and group), then renamed into place. A path
// where a live server answers is refused; a stale socket (nothing answers:
// a writer that died) is replaced; a path that is not a socket is refused.
// Paths follow the rule of package pathrule.
package unixsock

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/logfanin/logfanin/internal/pathrule"
)

// File is a socket file created by ListenStream or ListenGram, to be removed
// when its server stops.
type File struct {
	path     string
	dev, ino uint64
}

// Remove removes the socket file if it is still the one created: another
// server may have replaced it since. It may be called on nil.
func (sf *File) Remove() {
	if sf == nil {
		return
	}
	var st unix.Stat_t
	if unix.Lstat(sf.path, &st) == nil && uint64(st.Dev) == sf.dev && st.Ino == sf.ino {
		os.Remove(sf.path)
	}
}

// ListenStream creates a Unix stream socket at path (see the package
// documentation) and returns its listener and file.
func ListenStream(path string, mode os.FileMode, gid int) (net.Listener, *File, error) {
	l, sock, err := bindSocket(path, "unix", mode, gid, func(p string) (*net.UnixListener, error) {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err == nil {
			l.SetUnlinkOnClose(false)
		}
		return l, err
	})
	if err != nil {
		return nil, nil, err // not a nil *UnixListener in the interface
	}
	return l, sock, nil
}

// ListenGram creates a Unix datagram socket at path (see the package
// documentation) and returns it and its file.
func ListenGram(path string, mode os.FileMode, gid int) (*net.UnixConn, *File, error) {
	return bindSocket(path, "unixgram", mode, gid, func(p string) (*net.UnixConn, error) {
		return net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	})
}

// MaxPath is the longest path bind(2) takes (sun_path less the NUL).
const MaxPath = len(unix.RawSockaddrUnix{}.Path) - 1

// bindSocket creates a socket file at path through bind, with mode and
// group set before the file appears at path, and returns what bind made
// and the file. What bind made is closed on error.
func bindSocket[T io.Closer](path, network string, mode os.FileMode, gid int, bind func(string) (T, error)) (T, *File, error) {
	var none T
	if err := pathrule.Check(path, "socket"); err != nil {
		return none, nil, err
	}
	if err := checkStale(path, network); err != nil {
		return none, nil, err
	}
	dir := filepath.Dir(path)
	tmpDir, err := os.MkdirTemp(dir, ".logfanin-")
	if err != nil {
		return none, nil, err
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "s")
	bindPath := tmp
	if len(tmp) > MaxPath {
		// The private directory makes the path too long for bind: bind
		// through the directory's descriptor, whose /proc path is short,
		// so the socket still appears at path only with its mode set.
		d, err := os.Open(tmpDir)
		if err != nil {
			return none, nil, err
		}
		defer d.Close()
		bindPath = fmt.Sprintf("/proc/self/fd/%d/s", d.Fd())
	}
	c, err := bind(bindPath)
	if err != nil {
		return none, nil, err
	}
	fail := func(err error) (T, *File, error) {
		c.Close()
		os.Remove(tmp)
		return none, nil, err
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
	return c, &File{path: path, dev: uint64(st.Dev), ino: st.Ino}, nil
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

// Listen is ListenStream for other servers of the process, such as a
// metrics endpoint: closing the listener removes the file if it is still
// the one created.
func Listen(path string, mode os.FileMode, gid int) (net.Listener, error) {
	l, sock, err := ListenStream(path, mode, gid)
	if err != nil {
		return nil, fmt.Errorf("listen unix://%s: %w", path, err)
	}
	return &ownedListener{Listener: l, sock: sock}, nil
}

type ownedListener struct {
	net.Listener
	sock *File
	once sync.Once
}

func (l *ownedListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.sock.Remove)
	return err
}
