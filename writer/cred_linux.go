package writer

import "golang.org/x/sys/unix"

// peerCredFrom asks SO_PEERCRED: pid, uid and gid.
func peerCredFrom(fd int) (*cred, error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return nil, err
	}
	return &cred{pid: u.Pid, uid: u.Uid, gid: u.Gid}, nil
}
