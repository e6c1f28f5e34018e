package wire

import (
	"errors"
	"fmt"
)

// ErrTruncated reports a stream that ended inside a frame: the half record
// is discarded, never delivered.
var ErrTruncated = errors.New("stream ended inside a frame")

// SizeError reports a record or frame longer than the limit. After a
// SizeError on a stream the stream can't be resynchronised and must be
// closed.
type SizeError struct {
	Len     uint64 // length announced or attempted
	Max     int    // the limit in force
	Control bool   // a control frame was too long, not a record
}

// Error says what was too long and the limit.
func (e *SizeError) Error() string {
	what := "record"
	if e.Control {
		what = "control frame"
	}
	return fmt.Sprintf("%s of %d bytes exceeds the limit of %d bytes", what, e.Len, e.Max)
}

// ProtocolError reports input that does not follow the protocol, such as an
// unknown control frame type or a malformed hello.
type ProtocolError struct {
	Reason string
}

// Error says what was wrong with the input.
func (e *ProtocolError) Error() string { return e.Reason }
