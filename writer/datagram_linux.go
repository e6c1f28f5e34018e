package writer

import "golang.org/x/sys/unix"

// datagramCreds reports whether a datagram socket can tell who sent each
// datagram: SCM_CREDENTIALS.
const datagramCreds = true

// credOOBSize is the control buffer of a datagram read: room for the
// sender's credentials and nothing else, so the kernel closes any
// descriptor a sender passes instead of installing it in the writer.
var credOOBSize = unix.CmsgSpace(unix.SizeofUcred)

// recvCloexec is what ReadMsgUnix also asks for: a descriptor received is
// never inherited by a process the writer starts.
const recvCloexec = unix.MSG_CMSG_CLOEXEC

// setupDatagramSocket asks for a generous receive buffer, which absorbs
// bursts (FORCE needs CAP_NET_ADMIN; otherwise the kernel caps it at
// rmem_max), and, with creds, for every datagram's credentials.
func setupDatagramSocket(fd int, creds bool) error {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, datagramReadBuffer) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, datagramReadBuffer)
	}
	if creds {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}
	return nil
}

// parseCred returns the sender's credentials from a datagram's control
// messages, nil if they are missing.
func parseCred(oob []byte) *cred {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var c *cred
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch msgs[i].Header.Type {
		case unix.SCM_CREDENTIALS:
			if u, err := unix.ParseUnixCredentials(&msgs[i]); err == nil && c == nil {
				c = &cred{pid: u.Pid, uid: u.Uid, gid: u.Gid}
			}
		case unix.SCM_RIGHTS:
			// The buffer holds the credentials alone, so the kernel
			// closes passed descriptors; should one arrive, it is closed
			// here, not kept.
			fds, _ := unix.ParseUnixRights(&msgs[i])
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	return c
}
