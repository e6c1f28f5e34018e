package sink

import "golang.org/x/sys/unix"

// datagramOverhead is what Linux takes off SO_SNDBUF for the largest Unix
// datagram: a datagram is refused with EMSGSIZE when longer than
// sk_sndbuf - 32.
const datagramOverhead = 32

// datagramLimit is the largest record a datagram socket with the send
// buffer we ask for can carry, found on a throwaway socket.
func datagramLimit(maxRecord int) int {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return maxRecord
	}
	defer unix.Close(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sendBufferSize(maxRecord))
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil || v <= datagramOverhead {
		return maxRecord
	}
	return v - datagramOverhead
}
