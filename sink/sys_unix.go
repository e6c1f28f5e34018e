//go:build unix

package sink

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkPipe makes sure fd is an open pipe or FIFO this process can write.
func checkPipe(fd int) error {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("descriptor %d is not open: %w", fd, err)
	}
	if acc := fl & unix.O_ACCMODE; acc != unix.O_WRONLY && acc != unix.O_RDWR {
		return fmt.Errorf("descriptor %d is not open for writing", fd)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("descriptor %d: %w", fd, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return fmt.Errorf("descriptor %d is not a pipe", fd)
	}
	return nil
}

// writeChunk writes one chunk with one write(2). A write of at most
// PIPE_BUF bytes to a pipe is atomic (POSIX): on a blocking pipe it waits
// until the whole chunk fits and then writes all of it, on a non-blocking
// one it writes all of it or fails with EAGAIN, never part of it. So there
// is never a short write to continue, and no other process's chunk can
// land inside this one. The raw descriptor is used rather than an
// os.File, whose Write loops over partial writes and may hand the
// descriptor to the network poller; a blocking write(2) here only holds
// one thread.
func (pf *pipeFD) writeChunk(chunk []byte) error {
	for {
		n, err := unix.Write(pf.fd, chunk)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			// Someone made the shared file description non-blocking:
			// wait for room, then write the chunk whole.
			pfd := [1]unix.PollFd{{Fd: int32(pf.fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(pfd[:], -1); err != nil && err != unix.EINTR {
				return err
			}
			continue
		case err != nil:
			return err
		case n != len(chunk):
			return fmt.Errorf("short write of %d of %d bytes", n, len(chunk))
		}
		return nil
	}
}

// pipeWritable reports whether a chunk can be written to fd without
// waiting: a pipe reports POLLOUT when it has a free page.
func pipeWritable(fd int) bool {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(pfd[:], 0)
	return err == nil && n > 0 && pfd[0].Revents&unix.POLLOUT != 0
}

// sendBufferSize is the SO_SNDBUF asked for on datagram sockets: room for
// the largest record, and at least 1 MiB. The kernel caps it at
// net.core.wmem_max and doubles it for its bookkeeping.
func sendBufferSize(maxRecord int) int {
	return max(maxRecord+64, 1<<20)
}

func raiseSendBuffer(conn net.Conn, maxRecord int) {
	if uc, ok := conn.(*net.UnixConn); ok {
		uc.SetWriteBuffer(sendBufferSize(maxRecord))
	}
}

func isMsgSize(err error) bool { return errors.Is(err, syscall.EMSGSIZE) }
