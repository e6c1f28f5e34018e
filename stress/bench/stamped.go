//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stampedOutput is the output descriptor the latency run gives the
// sidecar: one end of a Unix SOCK_SEQPACKET pair, so that the kernel
// stamps each write(2) with the time it was made (SO_TIMESTAMPNS) and the
// reader learns when a record reached the descriptor without having to be
// awake at that moment. A pipe would time a line when the reader got a
// core to read it, which on a busy machine is the instrument's own delay.
type stampedOutput struct {
	W  *os.File // the sidecar's standard output
	fd int      // the reader's end
}

// maxPacket bounds one write of the sidecar: a batch (writer.DefaultBatchSize)
// and the record that did not fit, or one large record alone.
const maxPacket = 4 << 20

func newStampedOutput() (*stampedOutput, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	// A queue deep enough that the sidecar never waits for the reader:
	// SO_SNDBUFFORCE passes net.core.wmem_max when allowed.
	if unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 16<<20) != nil {
		unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 16<<20)
	}
	if err := unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	return &stampedOutput{W: os.NewFile(uintptr(fds[0]), "stamped-out"), fd: fds[1]}, nil
}

// close closes the reader's end when read will not run.
func (so *stampedOutput) close() { unix.Close(so.fd) }

// read copies every packet to out and calls line with each line and the
// time its packet was written, until the sidecar closes its end (the
// caller closes W once the sidecar has it). It closes the reader's end.
func (so *stampedOutput) read(out io.Writer, line func(l []byte, at int64)) error {
	defer unix.Close(so.fd)
	buf := make([]byte, maxPacket)
	var part []byte
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(so.fd, buf, oob, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read the sidecar's output: %w", err)
		}
		if n == 0 {
			return nil
		}
		if flags&unix.MSG_TRUNC != 0 {
			return fmt.Errorf("a write of the sidecar was larger than %d bytes", maxPacket)
		}
		at, err := packetTime(oob[:oobn])
		if err != nil {
			return err
		}
		p := buf[:n]
		if _, err := out.Write(p); err != nil {
			return err
		}
		// The writer writes whole lines, but a line split across writes
		// is timed by the write that ends it.
		for len(p) > 0 {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				part = append(part, p...)
				break
			}
			if len(part) > 0 {
				part = append(part, p[:i]...)
				line(part, at)
				part = part[:0]
			} else {
				line(p[:i], at)
			}
			p = p[i+1:]
		}
	}
}

func packetTime(oob []byte) (int64, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, fmt.Errorf("control message: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()).UnixNano(), nil
		}
	}
	return 0, fmt.Errorf("a packet came without its timestamp")
}
