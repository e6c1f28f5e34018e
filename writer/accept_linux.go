package writer

import "golang.org/x/sys/unix"

// acceptNonblock accepts a connection on the non-blocking listening
// socket fd, close-on-exec from the start.
func acceptNonblock(fd int) (int, error) {
	nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
	return nfd, err
}
