package shmring

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fence: each handshake stores one word and then loads another, so the
// store must not be reordered after the load (the store-buffer case).
// Those stores are Swaps: an atomic exchange is a full barrier on every
// architecture Go supports, also under the race detector, whose atomic
// stores are only release stores on memory it does not track.

// Layout of the shared memory: one page of header, then the data area.
// Each field has a cache line of its own.
const (
	HeaderSize = 4096

	offHead     = 0   // uint64: bytes published by the producer, ever
	offTail     = 64  // uint64: bytes consumed by the writer, ever
	offSleeping = 128 // uint32: 1 while the writer waits for a wake-up
	offWaiting  = 192 // uint32: 1 while the producer waits for space
	offAcked    = 256 // uint64: the writer's acknowledgement, a sequence + 1 (0: none)
	offAckWant  = 320 // uint32: 1 while the producer waits for an ack frame
)

type shared struct {
	mem      []byte // the whole mapping
	data     []byte
	mask     uint64
	pubHead  *atomic.Uint64
	pubTail  *atomic.Uint64
	sleeping *atomic.Uint32
	waiting  *atomic.Uint32
	acked    *atomic.Uint64
	ackWant  *atomic.Uint32
}

func newShared(mem []byte) shared {
	p := unsafe.Pointer(unsafe.SliceData(mem))
	return shared{
		mem:      mem,
		data:     mem[HeaderSize:],
		mask:     uint64(len(mem)-HeaderSize) - 1,
		pubHead:  (*atomic.Uint64)(unsafe.Add(p, offHead)),
		pubTail:  (*atomic.Uint64)(unsafe.Add(p, offTail)),
		sleeping: (*atomic.Uint32)(unsafe.Add(p, offSleeping)),
		waiting:  (*atomic.Uint32)(unsafe.Add(p, offWaiting)),
		acked:    (*atomic.Uint64)(unsafe.Add(p, offAcked)),
		ackWant:  (*atomic.Uint32)(unsafe.Add(p, offAckWant)),
	}
}

func (s *shared) unmap() error {
	if s.mem == nil {
		return nil
	}
	err := unix.Munmap(s.mem)
	*s = shared{}
	return err
}

// Producer is the client's side of a ring. It is not safe for concurrent
// use.
type Producer struct {
	shared
	head uint64 // the producer's own position, published in pubHead
	tail uint64 // the writer's position when last loaded
}

// Write copies as much of b as fits and publishes it. It returns the
// number of bytes copied, 0 when the ring is full.
func (p *Producer) Write(b []byte) int {
	free := p.free()
	if free < uint64(len(b)) {
		// The shared position is loaded only when the cached one is not
		// enough: the cache line stays put while the ring has room.
		p.tail = p.pubTail.Load()
		free = p.free()
	}
	n := min(uint64(len(b)), free)
	if n == 0 {
		return 0
	}
	off := p.head & p.mask
	k := copy(p.data[off:], b[:n])
	copy(p.data, b[k:n])
	p.head += n
	p.pubHead.Swap(p.head) // a full barrier: see fence
	return int(n)
}

func (p *Producer) free() uint64 {
	used := p.head - p.tail
	if used > uint64(len(p.data)) {
		return 0 // a writer's position is never ahead of ours
	}
	return uint64(len(p.data)) - used
}

// TakeSleeper reports whether the writer is asleep and this call claimed
// the duty to wake it: the caller then sends a wake-up on the socket. Call
// it after every Write that copied something.
func (p *Producer) TakeSleeper() bool {
	return p.sleeping.Load() == 1 && p.sleeping.CompareAndSwap(1, 0)
}

// Wait announces that the producer is about to wait for space and reports
// whether it still must: false if space appeared meanwhile. After true the
// writer sends a space notice once it has consumed something.
func (p *Producer) Wait() bool {
	p.waiting.Swap(1) // a full barrier: see fence
	p.tail = p.pubTail.Load()
	return p.free() == 0
}

// Acked returns the acknowledgement the writer published last: the
// highest sequence written to its output plus one, 0 if none.
func (p *Producer) Acked() uint64 { return p.acked.Load() }

// WantAck announces that the producer is about to wait for an
// acknowledgement and returns the one published so far: if it is not
// enough, the writer sends an ack frame once it publishes a new one.
func (p *Producer) WantAck() uint64 {
	p.ackWant.Swap(1) // a full barrier: see fence
	return p.acked.Load()
}

// Close unmaps the ring.
func (p *Producer) Close() error { return p.unmap() }

// Consumer is the writer's side of a ring. It is not safe for concurrent
// use.
type Consumer struct {
	shared
	tail     uint64 // the writer's own position, published in pubTail
	ackedOwn uint64 // the last acknowledgement published in acked
	frozen   bool
	limit    uint64 // with frozen: Read stops here
}

// Map maps the ring in the memfd f after checking that f is sealed against
// shrinking and has a valid size. It does not take ownership of f.
func Map(f *os.File) (*Consumer, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("shmring: %w", err)
	}
	var c *Consumer
	var merr error
	err = rc.Control(func(fd uintptr) { c, merr = mapFD(int(fd)) })
	if err == nil {
		err = merr
	}
	return c, err
}

func mapFD(fd int) (*Consumer, error) {
	if err := checkSeals(fd); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("shmring: fstat: %w", err)
	}
	if st.Size < HeaderSize || !ValidSize(int(st.Size-HeaderSize)) {
		return nil, fmt.Errorf("shmring: memfd of %d bytes: the data area must be a power of two between %d and %d", st.Size, MinSize, MaxSize)
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shmring: mmap: %w", err)
	}
	c := &Consumer{shared: newShared(mem)}
	c.pubTail.Store(0)
	return c, nil
}

// Size returns the size of the data area.
func (c *Consumer) Size() int { return len(c.data) }

// Read copies the published bytes, up to len(b), and releases their space
// to the producer. It returns 0 and no error when the ring is empty, and
// ErrCorrupt when the producer's position is impossible.
func (c *Consumer) Read(b []byte) (int, error) {
	avail := c.head() - c.tail
	if avail > uint64(len(c.data)) {
		return 0, ErrCorrupt
	}
	n := min(uint64(len(b)), avail)
	if n == 0 {
		return 0, nil
	}
	off := c.tail & c.mask
	k := copy(b[:n], c.data[off:])
	copy(b[k:n], c.data)
	c.tail += n
	c.pubTail.Swap(c.tail) // a full barrier: see fence
	return int(n), nil
}

// head returns the end of what Read may return.
func (c *Consumer) head() uint64 {
	if c.frozen {
		return c.limit
	}
	return c.pubHead.Load()
}

// Freeze makes Read stop at the bytes published so far: a writer that
// shuts down takes what was sent before, not whatever a busy producer keeps
// adding.
func (c *Consumer) Freeze() {
	if !c.frozen {
		c.frozen, c.limit = true, c.pubHead.Load()
	}
}

// Sleep announces that the writer is about to wait for a wake-up and
// reports whether it still must: false if bytes were published meanwhile.
func (c *Consumer) Sleep() bool {
	c.sleeping.Swap(1) // a full barrier: see fence
	if c.head() != c.tail {
		c.sleeping.Store(0)
		return false
	}
	return true
}

// Awake clears the writer's sleeping flag after a wake-up.
func (c *Consumer) Awake() { c.sleeping.Store(0) }

// TakeWaiter reports whether the producer waits for space and this call
// claimed the duty to notify it. Call it after a Read that returned bytes.
func (c *Consumer) TakeWaiter() bool {
	return c.waiting.Load() == 1 && c.waiting.CompareAndSwap(1, 0)
}

// PublishAck publishes the acknowledgement next (the highest sequence
// written plus one) if it is past the last one published, and then
// reports whether the producer waits for it and this call claimed the duty
// to send it an ack frame. The writer's own last value is what counts: the
// producer can't hold the acknowledgements back by writing the word. It
// may run concurrently with Read, but not with itself.
func (c *Consumer) PublishAck(next uint64) bool {
	if next <= c.ackedOwn {
		// Nothing new: a frame now would tell a waiting producer nothing
		// and use up its wait, and the next new value would go unsent.
		return false
	}
	c.ackedOwn = next
	c.acked.Swap(next) // a full barrier: see fence
	return c.ackWant.Load() == 1 && c.ackWant.CompareAndSwap(1, 0)
}

// AckWanted reports whether the producer waits for an ack frame (it said
// so with WantAck and no PublishAck has taken the wait since).
func (c *Consumer) AckWanted() bool { return c.ackWant.Load() == 1 }

// Close releases the pages of the data area and unmaps the ring. A page
// of a memfd is charged to the memory cgroup of the process that faulted
// it in, for as long as the memfd lives, and a client that published
// bytes it never wrote makes the writer fault those pages in; a client
// could then keep the memfds of many closed connections and grow the
// writer's charge without bound. Punching the data area out (MADV_REMOVE;
// the seals the writer accepts allow it) frees them when the connection
// ends: the bytes are of no use to a client after that, which replays
// from its own buffer on its next connection, with a new ring. The header
// page stays for the client to read its last acknowledgement.
func (c *Consumer) Close() error {
	if c.mem == nil {
		return nil
	}
	releasePages(c.data) // best effort: the unmap below is what matters
	return c.unmap()
}
