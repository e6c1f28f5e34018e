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
