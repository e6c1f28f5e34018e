package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/coreos/go-systemd/v22/activation"
	"golang.org/x/sys/unix"

	"github.com/logfanin/logfanin/writer"
)

// systemdActivated reports whether systemd passed this process sockets:
// LISTEN_FDS is set and LISTEN_PID names this process.
func systemdActivated() bool {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	return err == nil && pid == os.Getpid() && os.Getenv("LISTEN_FDS") != ""
}

// listenSystemd serves the descriptors systemd passed (LISTEN_FDS, from
// descriptor 3 on): stream sockets, datagram sockets and FIFOs. It returns
// their addresses, and unsets the LISTEN_* variables so that a supervised
// command does not take them for its own.
func listenSystemd(srv *writer.Server) ([]string, error) {
	files := activation.Files(true)
	if len(files) == 0 {
		return nil, errors.New("-listen systemd: no sockets passed (LISTEN_FDS is unset, or LISTEN_PID is not this process)")
	}
	var addrs []string
	for _, f := range files {
		addr, err := serveSystemdFile(srv, f)
		if err != nil {
			return addrs, fmt.Errorf("systemd descriptor %d (%s): %w", f.Fd(), f.Name(), err)
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

func serveSystemdFile(srv *writer.Server, f *os.File) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		addr := "fd:" + strconv.Itoa(int(f.Fd()))
		return addr, srv.AddPipe(f)
	case unix.S_IFSOCK:
	default:
		return "", errors.New("neither a socket nor a FIFO")
	}
	typ, err := unix.GetsockoptInt(int(f.Fd()), unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return "", err
	}
	defer f.Close() // net.File* took a copy
	switch typ {
	case unix.SOCK_STREAM:
		l, err := net.FileListener(f)
		if err != nil {
			return "", err
		}
		if _, ok := l.(*net.UnixListener); !ok {
			l.Close()
			return "", fmt.Errorf("not a Unix socket (%s)", l.Addr().Network())
		}
		return "unix://" + l.Addr().String(), srv.AddListener(l)
	case unix.SOCK_DGRAM:
		c, err := net.FilePacketConn(f)
		if err != nil {
			return "", err
		}
		return "unixgram://" + c.LocalAddr().String(), srv.AddPacketConn(c)
	}
	return "", fmt.Errorf("socket type %d is neither stream nor datagram", typ)
}
