//go:build !unix

package sink

import (
	"errors"
	"net"
)

var errNoPipes = errors.New("pipes (fd:N) are supported on Unix only")

func checkPipe(fd int) error                       { return errNoPipes }
func (pf *pipeFD) writeChunk(chunk []byte) error   { return errNoPipes }
func pipeWritable(fd int) bool                     { return false }
func datagramLimit(maxRecord int) int              { return maxRecord }
func raiseSendBuffer(conn net.Conn, maxRecord int) {}
func isMsgSize(err error) bool                     { return false }
