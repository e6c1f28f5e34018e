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
	c := &cred{uid: x.Uid}
	if x.Ngroups > 0 {
		c.gid = x.Groups[0] // the effective gid comes first
	}
	return c, nil
}
