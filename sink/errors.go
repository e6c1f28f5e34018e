package sink

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by Write and Sync after Close.
var ErrClosed = errors.New("sink: closed")

// ErrTooLarge matches (errors.Is) the error Write returns for a record
// over the size limit (WithMaxRecord), a *SizeError.
var ErrTooLarge = errors.New("sink: record over the size limit")

// SizeError is the error of a record over the size limit: it was counted
// in Stats().Oversize and not sent.
type SizeError struct {
	Len int // the record's length
	Max int // the limit
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("sink: record of %d bytes over the limit of %d", e.Len, e.Max)
}

// Is reports whether target is ErrTooLarge.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }
