//go:build !unix

package atomicwrite

import (
	"errors"
	"os"
)

// osSys reports that direct mode needs flock(2) and O_APPEND semantics,
// which this system does not offer.
type osSys struct{}

var _ sysCalls = osSys{}

var errUnsupported = errors.New("atomicwrite: direct mode needs a Unix system")

func (osSys) open(string, uint32) (int, error) { return -1, errUnsupported }
func (osSys) write(int, []byte) (int, error)   { return 0, errUnsupported }
func (osSys) flock(int, lockHow) error         { return errUnsupported }
func (osSys) fstat(int) (fileID, error)        { return fileID{}, errUnsupported }
func (osSys) stat(string) (fileID, error)      { return fileID{}, errUnsupported }
func (osSys) fsync(int) error                  { return errUnsupported }
func (osSys) close(int) error                  { return errUnsupported }
func (osSys) rename(string, string) error      { return errUnsupported }
func errNotExist(err error) bool               { return errors.Is(err, os.ErrNotExist) }
