package writer

import (
	"errors"
	"syscall"
)

// isSyncUnsupported reports whether a Sync error only means the descriptor
// (a pipe, a terminal) can't be synced.
func isSyncUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EROFS)
}
