package writer

import "golang.org/x/sys/unix"

// peerCredFrom asks LOCAL_PEERCRED for uid and gid, and LOCAL_PEERPID.
func peerCredFrom(fd int) (*cred, error) {
	c, err := localPeerCred(fd)
	if err != nil {
		return nil, err
	}
	if pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
		c.pid = int32(pid)
	}
	return c, nil
}
