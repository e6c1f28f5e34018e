package wire

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/logfanin/logfanin/internal/bufpool"
)

const (
	// FrameHeaderSize is the size of the length prefix of a stream frame.
	FrameHeaderSize = 4

	// ControlBit marks a control frame in the length prefix.
	ControlBit = 1 << 31

	// MaxControl is the largest control frame payload a reader accepts.
	MaxControl = 4096

	readBufSize = 64 << 10
)

// AppendFrame appends rec to dst as one stream frame.
func AppendFrame(dst, rec []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(rec)))
	return append(dst, rec...)
}

func recordLimit(max int) int {
	if max <= 0 {
		return DefaultMaxRecord
	}
	return min(max, MaxRecordLimit)
}

// Frame is one decoded stream frame.
type Frame struct {
	// Control is set for control frames; Payload is then a control
	// message for ParseControl.
	Control bool
	// Payload is the record or control message. It aliases the reader's
	// buffer and is valid only until the next call to Next.
	Payload []byte
}

// FrameReader decodes stream frames. Records that fit its buffer are
// returned without copying. A frame too large for the buffer is read into
// a buffer of its own, taken from package bufpool and given back at the
// next call to Next, so that a run of big records reuses the same memory.
// A FrameReader is not safe for concurrent use.
type FrameReader struct {
	rd      io.Reader
	max     int
	buf     []byte
	r, w    int
	err     error  // sticky read error
	big     []byte // the last frame, if it did not fit buf
	partial int    // bytes of a big frame read so far, while it is read
	budget  BufferBudget
	charged int // bytes of big, granted by budget
}

// BufferBudget rations the memory of many FrameReaders: a reader's buffer
// is 64 KiB, and a frame that does not fit it gets a buffer of its own
// only after Grow has granted its size.
type BufferBudget interface {
	// Grow is called before a frame gets a buffer of n bytes of its own;
	// Next returns its error, if any, and reads nothing more.
	Grow(n int) error
	// Shrink gives back n bytes granted by Grow.
	Shrink(n int)
}

// SetBudget makes the reader ask b before it reads a frame that does not
// fit its buffer. Call it before the first Next.
func (fr *FrameReader) SetBudget(b BufferBudget) { fr.budget = b }

// Release drops the buffers and gives back to the budget what it was
// granted. The reader must not be used afterwards.
func (fr *FrameReader) Release() {
	fr.buf, fr.r, fr.w = nil, 0, 0
	fr.dropBig()
}

// dropBig gives the buffer of the last frame, if it had one of its own,
// back to the pool and its size back to the budget.
func (fr *FrameReader) dropBig() {
	if fr.big != nil {
		bufpool.Put(fr.big)
		fr.big = nil
	}
	if fr.budget != nil && fr.charged > 0 {
		fr.budget.Shrink(fr.charged)
	}
	fr.charged = 0
}

// NewFrameReader returns a reader of frames from rd accepting records of at
// most max bytes (DefaultMaxRecord when max <= 0).
func NewFrameReader(rd io.Reader, max int) *FrameReader {
	return &FrameReader{rd: rd, max: recordLimit(max), buf: make([]byte, readBufSize)}
}

// Next returns the next frame. At a clean end of stream it returns io.EOF;
// a stream that ends inside a frame returns ErrTruncated; a length over the
// limit returns a *SizeError, after which the stream is unusable. Other
// errors come from the underlying reader.
func (fr *FrameReader) Next() (Frame, error) {
	fr.dropBig()
	if err := fr.fill(FrameHeaderSize); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(fr.buf[fr.r:])
	ctrl := n&ControlBit != 0
	n &^= ControlBit
	switch {
	case ctrl && n > MaxControl:
		return Frame{}, &SizeError{Len: uint64(n), Max: MaxControl, Control: true}
	case !ctrl && uint64(n) > uint64(fr.max):
		return Frame{}, &SizeError{Len: uint64(n), Max: fr.max}
	}
	total := FrameHeaderSize + int(n)
	if total > len(fr.buf) {
		return fr.nextBig(int(n))
	}
	if err := fr.fill(total); err != nil {
		return Frame{}, err
	}
	p := fr.buf[fr.r+FrameHeaderSize : fr.r+total : fr.r+total]
	fr.r += total
	return Frame{Control: ctrl, Payload: p}, nil
}

// nextBig reads a record of n bytes, whose header is at fr.buf[fr.r:] and
// which does not fit fr.buf, into a buffer of its own. What fr.buf holds
// is all of the frame: the frame is longer than fr.buf.
func (fr *FrameReader) nextBig(n int) (Frame, error) {
	if fr.budget != nil {
		if err := fr.budget.Grow(bufpool.Size(n)); err != nil {
			return Frame{}, err
		}
		fr.charged = bufpool.Size(n)
	}
	fr.big = bufpool.Get(n)
	fr.partial = copy(fr.big, fr.buf[fr.r+FrameHeaderSize:fr.w])
	fr.r, fr.w = 0, 0
	// Reads go straight into the record, and never past its end: the
	// next frame's bytes go to fr.buf.
	for fr.partial < n {
		if fr.err != nil {
			// fr.partial stays: Buffered tells the caller a record was cut.
			if errors.Is(fr.err, io.EOF) {
				return Frame{}, ErrTruncated
			}
			return Frame{}, fr.err
		}
		m, err := fr.rd.Read(fr.big[fr.partial:])
		fr.partial += m
		if err != nil {
			fr.err = err
		}
	}
	fr.partial = 0
	return Frame{Payload: fr.big[:n:n]}, nil
}

// Discard drops the bytes read from the stream but not yet returned as
// frames and returns how many there were. A connection whose data moves
// to a shared ring after its hello uses it to drop the wake-up bytes read
// along with the hello.
func (fr *FrameReader) Discard() int {
	n := fr.w - fr.r
	fr.r, fr.w = 0, 0
	return n
}

// Buffered reports how many bytes have been read from the stream but not
// yet returned as frames.
func (fr *FrameReader) Buffered() int { return fr.w - fr.r + fr.partial }

// fill makes at least n unread bytes available in fr.buf; n is at most
// len(fr.buf) (a longer frame goes to nextBig), so fr.buf never grows.
func (fr *FrameReader) fill(n int) error {
	if fr.w-fr.r >= n {
		return nil
	}
	if len(fr.buf)-fr.r < n {
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
	for fr.w-fr.r < n {
		if fr.err != nil {
			return fr.endErr()
		}
		m, err := fr.rd.Read(fr.buf[fr.w:])
		fr.w += m
		if err != nil {
			fr.err = err
		}
	}
	return nil
}

func (fr *FrameReader) endErr() error {
	if errors.Is(fr.err, io.EOF) {
		if fr.w == fr.r {
			return io.EOF
		}
		return ErrTruncated
	}
	return fr.err
}
