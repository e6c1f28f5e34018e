//go:build !linux && !darwin && !freebsd

package writer

import (
	"errors"
	"fmt"
)

// peerCredFrom: no peer credentials on this platform.
func peerCredFrom(fd int) (*cred, error) {
	return nil, fmt.Errorf("peer credentials: %w", errors.ErrUnsupported)
}
