package sink

import (
	"encoding/binary"

	"github.com/logfanin/logfanin/internal/wire"
)

// ring holds stream frames (length prefix and record) in one preallocated
// buffer, oldest first, so that appending a record and sending a run of
// them costs no allocation. It is a bip buffer: a frame is never split at
// the end of the buffer; when it does not fit there it goes to the start
// and the tail end is left unused until the head passes it. Frames are in
// three runs: released ones are gone, [head, send) are sent and await an
// acknowledgement, [send, tail) are not sent yet.
//
// A ring is not safe for concurrent use; the Sink's mutex guards it.
type ring struct {
	buf  []byte
	head int // offset of the oldest frame
	send int // offset of the oldest frame not sent
	tail int // offset of the next frame
	wrap int // ≥ 0 when wrapped: frames run head…wrap, then 0…tail

	n           int // frames held
	unsent      int // frames in [send, tail)
	bytes       int // bytes of the frames held
	unsentBytes int // bytes of the unsent frames
}

func newRing(size int) ring {
	return ring{buf: make([]byte, size), wrap: -1}
}

// fits reports whether a frame of n bytes can be appended now. A frame of
// at most len(buf) bytes always fits in an empty ring.
func (r *ring) fits(n int) bool {
	_, ok := r.place(n)
	return ok
}

// place returns where a frame of n bytes would go. While wrapped the tail
// stays strictly below the head, so that head == tail means empty.
func (r *ring) place(n int) (int, bool) {
	if r.wrap < 0 {
		if len(r.buf)-r.tail >= n {
			return r.tail, true
		}
		if r.head > n {
			return 0, true
		}
		return 0, false
	}
	if r.head-r.tail > n {
		return r.tail, true
	}
	return 0, false
}

// push appends rec as one frame. The caller has checked fits.
func (r *ring) push(rec []byte) {
	n := wire.FrameHeaderSize + len(rec)
	off, ok := r.place(n)
	if !ok {
		panic("sink: ring overflow")
	}
	if r.wrap < 0 && off == 0 && r.tail != 0 {
		// Wrap: the end of the buffer from tail on stays unused.
		r.wrap = r.tail
		if r.send == r.tail {
			r.send = 0
		}
	}
	binary.BigEndian.PutUint32(r.buf[off:], uint32(len(rec)))
	copy(r.buf[off+wire.FrameHeaderSize:], rec)
	r.tail = off + n
	r.n++
	r.unsent++
	r.bytes += n
	r.unsentBytes += n
}

// frameLen is the length of the frame at off, header included.
func (r *ring) frameLen(off int) int {
	return wire.FrameHeaderSize + int(binary.BigEndian.Uint32(r.buf[off:]))
}

// next returns the offset of the frame after the one at off.
func (r *ring) next(off int) int {
	off += r.frameLen(off)
	if off == r.wrap {
		return 0
	}
	return off
}

// record returns the record of the frame at off, without its header.
func (r *ring) record(off int) []byte {
	return r.buf[off+wire.FrameHeaderSize : off+r.frameLen(off)]
}

// unsentRuns returns the unsent frames as at most two runs of bytes.
func (r *ring) unsentRuns() (a, b []byte) {
	if r.unsent == 0 {
		return nil, nil
	}
	if r.wrap >= 0 && r.send >= r.head {
		return r.buf[r.send:r.wrap], r.buf[:r.tail]
	}
	return r.buf[r.send:r.tail], nil
}

// markSent moves k frames from unsent to sent.
func (r *ring) markSent(k int) {
	for ; k > 0; k-- {
		n := r.frameLen(r.send)
		r.send = r.next(r.send)
		r.unsent--
		r.unsentBytes -= n
	}
}

// markAllSent moves every frame to sent.
func (r *ring) markAllSent() { r.markSent(r.unsent) }

// rewind makes every held frame unsent again, for replay.
func (r *ring) rewind() {
	r.send = r.head
	r.unsent = r.n
	r.unsentBytes = r.bytes
}

// sentWithin counts the sent frames, oldest first, that lie wholly within
// the first n bytes of sent data.
func (r *ring) sentWithin(n int64) int {
	k, off := 0, r.head
	for k < r.n-r.unsent {
		l := int64(r.frameLen(off))
		if l > n {
			break
		}
		n -= l
		k++
		off = r.next(off)
	}
	return k
}

// release drops the k oldest frames, which must be sent.
func (r *ring) release(k int) {
	for ; k > 0; k-- {
		n := r.frameLen(r.head)
		r.head += n
		if r.head == r.wrap {
			r.head, r.wrap = 0, -1
		}
		r.n--
		r.bytes -= n
	}
	if r.n == 0 {
		r.head, r.send, r.tail, r.wrap = 0, 0, 0, -1
	}
}
