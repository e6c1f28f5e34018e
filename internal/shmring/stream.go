package shmring

import (
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// PassFD returns the control message (SCM_RIGHTS) that passes the ring's
// memfd f along with the hello.
func PassFD(f *os.File) []byte { return unix.UnixRights(int(f.Fd())) }

// FDCatcher reads a Unix socket and keeps the first descriptor passed with
// the bytes read; it closes any other. The writer reads the beginning of a
// connection through it, until the hello.
type FDCatcher struct {
	Conn *net.UnixConn
	File *os.File // the first descriptor received; the taker sets it to nil
	oob  []byte
}

// Read reads from the socket, catching descriptors.
func (fc *FDCatcher) Read(p []byte) (int, error) {
	if fc.oob == nil {
		fc.oob = make([]byte, unix.CmsgSpace(4*4))
	}
	n, oobn, _, _, err := fc.Conn.ReadMsgUnix(p, fc.oob)
	if oobn > 0 {
		msgs, _ := unix.ParseSocketControlMessage(fc.oob[:oobn])
		for _, m := range msgs {
			fds, _ := unix.ParseUnixRights(&m)
			for _, fd := range fds {
				if fc.File == nil {
					fc.File = os.NewFile(uintptr(fd), "passed")
				} else {
					unix.Close(fd)
				}
			}
		}
	}
	return n, err
}

// Close closes the descriptor caught, if it was not taken.
func (fc *FDCatcher) Close() {
	if fc.File != nil {
		fc.File.Close()
		fc.File = nil
	}
}

// Reader reads a ring as a stream. When the ring is empty it sleeps on the
// socket until the client sends a wake-up; when the socket ends, it still
// returns what the ring holds, then the socket's error (io.EOF for a client
// that closed).
//
// A wake-up is cheap to send and costs the writer a system call and a look
// at the ring, so the Reader holds the client to what a correct one does:
// one wake-up byte per sleep it claimed (Producer.TakeSleeper), which can
// only follow a Sleep. It reads whatever wake-ups are waiting with one
// read, and once the bytes received run more than wakeSlack ahead of its
// sleeps it returns ErrFlood: the client is cut off after a few reads
// instead of costing the writer a system call per 64 bytes it sends.
type Reader struct {
	C *Consumer
	// Idle, if not nil, is called when Read finds the ring empty, before
	// it may wait for a wake-up: a reader that holds on to what it read
	// while data keeps coming hands it on there.
	Idle    func()
	sock    io.Reader
	onSpace func()
	sockErr error
	sleeps  uint64 // calls of C.Sleep
	wakes   uint64 // wake-up bytes received
	wake    [wakeBuf]byte
}

const (
	// wakeSlack is how far wake-ups may run ahead of sleeps: a client
	// may send a few along with its hello.
	wakeSlack = 64
	// wakeBuf is the most wake-up bytes one read takes; a flood is
	// caught by its first read.
	wakeBuf = 1024
)

// NewReader returns a Reader of the ring c, sleeping on sock. It calls
// onSpace, if not nil, when the producer waits for room and a Read has
// made some: the caller then sends a space notice.
func NewReader(c *Consumer, sock io.Reader, onSpace func()) *Reader {
	return &Reader{C: c, sock: sock, onSpace: onSpace}
}

// Read returns the next bytes of the stream, blocking while there are none.
func (r *Reader) Read(p []byte) (int, error) {
	for {
		n, err := r.C.Read(p)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			if r.C.TakeWaiter() && r.onSpace != nil {
				r.onSpace()
			}
			return n, nil
		}
		if r.sockErr != nil {
			return 0, r.sockErr
		}
		if r.Idle != nil {
			r.Idle()
		}
		r.sleeps++
		if !r.C.Sleep() {
			continue
		}
		n, err = r.sock.Read(r.wake[:])
		r.C.Awake()
		r.wakes += uint64(n)
		if r.wakes > r.sleeps+wakeSlack {
			r.sockErr = ErrFlood
		} else if err != nil {
			r.sockErr = err
		}
	}
}
