package writer

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// datagramCreds reports whether a datagram socket can tell who sent each
// datagram: SCM_CREDENTIALS.
const datagramCreds = true

// credOOBSize is the control buffer of a datagram read: room for the
// sender's credentials and nothing else, so the kernel closes any
// descriptor a sender passes instead of installing it in the writer.
var credOOBSize = unix.CmsgSpace(unix.SizeofUcred)

// recvCloexec is what ReadMsgUnix also asks for: a descriptor received is
// never inherited by a process the writer starts.
const recvCloexec = unix.MSG_CMSG_CLOEXEC

// setupDatagramSocket asks for a generous receive buffer, which absorbs
// bursts (FORCE needs CAP_NET_ADMIN; otherwise the kernel caps it at
// rmem_max), and, with creds, for every datagram's credentials.
func setupDatagramSocket(fd int, creds bool) error {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, datagramReadBuffer) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, datagramReadBuffer)
	}
	if creds {
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}
	return nil
}

// parseCred returns the sender's credentials from a datagram's control
// messages, nil if they are missing.
func parseCred(oob []byte) *cred {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var c *cred
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch msgs[i].Header.Type {
		case unix.SCM_CREDENTIALS:
			if u, err := unix.ParseUnixCredentials(&msgs[i]); err == nil && c == nil {
				c = &cred{pid: u.Pid, uid: u.Uid, gid: u.Gid}
			}
		case unix.SCM_RIGHTS:
			// The buffer holds the credentials alone, so the kernel
			// closes passed descriptors; should one arrive, it is closed
			// here, not kept.
			fds, _ := unix.ParseUnixRights(&msgs[i])
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	return c
}

// queuedSlots is how many datagrams one read without waiting takes, at
// most. The kernel lets senders queue net.unix.max_dgram_qlen datagrams
// (10 by default) before they block, so a full queue is mostly drained in
// one or two calls. With a record limit above 8 MiB there are fewer
// slots, so that they span at most queuedSpan bytes (one slot at least).
const (
	queuedSlots = 8
	queuedSpan  = 64 << 20
)

// queued reads the datagrams queued on a socket with one recvmmsg(2):
// when senders are blocked on a full queue, every datagram read wakes one
// and the scheduler then often switches away from the reader on its way
// out of the kernel, so a call per datagram costs a switch per datagram.
type queued struct {
	mem     []byte // slots of size bytes, mapped, not heap
	size    int
	oob     []byte // a control buffer of oobSize bytes per slot
	oobSize int
	hdrs    []mmsghdr
	iovs    []unix.Iovec
	// recv is recvQueued, bound once, so that a read allocates nothing;
	// n is how many datagrams it read.
	recv func(fd uintptr)
	n    int
}

// mmsghdr is struct mmsghdr; Go lays it out as C does on every Linux
// architecture (the padding after n follows Msghdr's alignment).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// newQueued makes the slots for datagrams of up to size bytes with
// oobSize bytes of control messages each. The slots are an anonymous
// mapping, reserving no swap, so that only the pages large datagrams
// touch become resident: the slots are address space, not memory.
func newQueued(size, oobSize int) (*queued, error) {
	slots := max(1, min(queuedSlots, queuedSpan/size))
	mem, err := unix.Mmap(-1, 0, slots*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes: %w", slots*size, err)
	}
	q := &queued{mem: mem, size: size, oobSize: oobSize,
		oob: make([]byte, slots*oobSize), hdrs: make([]mmsghdr, slots), iovs: make([]unix.Iovec, slots)}
	for i := range q.hdrs {
		q.iovs[i].Base = &mem[i*size]
		q.iovs[i].SetLen(size)
		q.hdrs[i].hdr.Iov = &q.iovs[i]
		q.hdrs[i].hdr.SetIovlen(1)
		if oobSize > 0 {
			q.hdrs[i].hdr.Control = &q.oob[i*oobSize]
		}
	}
	q.recv = q.recvQueued
	return q, nil
}

// slot returns slot i's buffers, whole.
func (q *queued) slot(i int) (buf, oob []byte) {
	b, e := i*q.size, (i+1)*q.size
	ob, oe := i*q.oobSize, (i+1)*q.oobSize
	return q.mem[b:e:e], q.oob[ob:oe:oe]
}

// at returns the datagram the last read left in slot i (i < q.n), its
// control messages and its recvmsg(2) flags.
func (q *queued) at(i int) (rec, oob []byte, flags int) {
	h := &q.hdrs[i]
	buf, oob := q.slot(i)
	return buf[:h.n], oob[:h.hdr.Controllen], int(h.hdr.Flags)
}

// recvQueued reads up to len(q.hdrs) queued datagrams without waiting.
// The kernel sets each returned message's length and flags and shrinks
// its control length to what it wrote: only that is reset.
func (q *queued) recvQueued(fd uintptr) {
	if q.oobSize > 0 {
		for i := range q.hdrs {
			q.hdrs[i].hdr.SetControllen(q.oobSize)
		}
	}
	r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&q.hdrs[0])), uintptr(len(q.hdrs)),
		unix.MSG_DONTWAIT|recvCloexec, 0, 0)
	q.n = int(r)
	if errno != 0 {
		q.n = 0
	}
}

// release unmaps the slots; q is not used after.
func (q *queued) release() {
	if q != nil && q.mem != nil {
		unix.Munmap(q.mem)
		q.mem = nil
	}
}
