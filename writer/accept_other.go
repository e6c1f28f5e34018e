//go:build !linux

package writer

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// acceptNonblock accepts a connection on the non-blocking listening
// socket fd. Without accept4, close-on-exec is set under the fork lock, as
// the standard library does, so that no child started meanwhile inherits
// it.
func acceptNonblock(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, _, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	return nfd, err
}
