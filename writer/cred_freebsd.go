package writer

import "golang.org/x/sys/unix"

// peerCredFrom asks LOCAL_PEERCRED: uid and gid, no pid.
func peerCredFrom(fd int) (*cred, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return nil, err
	}
	return credOfXucred(x), nil
}
