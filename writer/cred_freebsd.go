package writer

import "golang.org/x/sys/unix"

// datagramCreds reports whether a datagram socket can tell who sent each
// datagram. FreeBSD's SCM_CREDS is not used: datagrams carry none.
const datagramCreds = false

func peerCredFrom(fd int) (*cred, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return nil, err
	}
	c := credOfXucred(x)
	return c, nil
}
