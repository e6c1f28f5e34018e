//go:build !linux

package writer

import "golang.org/x/sys/unix"

// datagramCreds reports whether a datagram socket can tell who sent each
// datagram: macOS has no SCM_CREDENTIALS, and FreeBSD's SCM_CREDS is not
// used.
const datagramCreds = false

// credOOBSize: datagrams carry no credentials here (datagramCreds).
const credOOBSize = 0

// recvCloexec: no control messages are read, so no descriptor is received.
const recvCloexec = 0

// setupDatagramSocket asks for a generous receive buffer, which absorbs
// bursts; the kernel caps it.
func setupDatagramSocket(fd int, creds bool) error {
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, datagramReadBuffer)
	return nil
}

// parseCred: datagrams carry no credentials here.
func parseCred(oob []byte) *cred { return nil }

// queued reads one datagram queued on a socket without waiting: the
// platforms without recvmmsg(2) take them one call each.
type queued struct {
	buf, oob []byte
	// recv is recvQueued, bound once, so that a read allocates nothing;
	// n is how many datagrams it read (0 or 1), rn, oobn and flags what
	// recvmsg(2) returned.
	recv           func(fd uintptr)
	n              int
	rn, oobn, flag int
}

func newQueued(size, oobSize int) (*queued, error) {
	q := &queued{buf: make([]byte, size), oob: make([]byte, oobSize)}
	q.recv = q.recvQueued
	return q, nil
}

func (q *queued) slot(i int) (buf, oob []byte) { return q.buf, q.oob }

func (q *queued) at(i int) (rec, oob []byte, flags int) {
	return q.buf[:q.rn], q.oob[:q.oobn], q.flag
}

func (q *queued) recvQueued(fd uintptr) {
	var err error
	q.rn, q.oobn, q.flag, _, err = unix.Recvmsg(int(fd), q.buf, q.oob, unix.MSG_DONTWAIT|recvCloexec)
	q.n = 1
	if err != nil {
		q.n = 0
	}
}

func (q *queued) release() {}
