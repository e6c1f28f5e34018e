//go:build !linux && !darwin && !freebsd

package writer

import (
	"errors"
	"fmt"
)

// datagramCreds reports whether a datagram socket can tell who sent each
// datagram.
const datagramCreds = false

func peerCredFrom(fd int) (*cred, error) {
	return nil, fmt.Errorf("peer credentials: %w", errors.ErrUnsupported)
}
