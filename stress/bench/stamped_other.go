//go:build !linux

package bench

import (
	"errors"
	"io"
	"os"
)

// stampedOutput is the output descriptor of the latency run, which needs
// Linux's SO_TIMESTAMPNS on a SOCK_SEQPACKET pair (see stamped.go).
type stampedOutput struct {
	W *os.File
}

func newStampedOutput() (*stampedOutput, error) {
	return nil, errors.New("the latency run needs Linux (SO_TIMESTAMPNS)")
}

func (so *stampedOutput) read(out io.Writer, line func(l []byte, at int64)) error {
	return errors.New("the latency run needs Linux")
}

func (so *stampedOutput) close() {}
