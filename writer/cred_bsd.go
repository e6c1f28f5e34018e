//go:build darwin || freebsd

package writer

import "golang.org/x/sys/unix"

// localPeerCred asks LOCAL_PEERCRED for the peer's uid and gid; the
// effective gid comes first among its groups. It tells no pid.
func localPeerCred(fd int) (*cred, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return nil, err
	}
	c := &cred{uid: x.Uid}
	if x.Ngroups > 0 {
		c.gid = x.Groups[0]
	}
	return c, nil
}
