package sink

import (
	"errors"
	"net"
	"sync/atomic"
)

// The shared ring: on a unix:// connection with acknowledgements, the sink
// creates a ring in a sealed memfd and passes it with the hello; the frames
// then go into the ring instead of through the socket, and the socket
// carries only a wake-up byte when the writer sleeps (see
// internal/shmring and docs/PROTOCOL.md). A record is then handed over by
// a copy, with no system call while the writer is busy. Nothing is copied
// into the ring before the writer's first space notice says it took the
// ring: a writer that refuses it never leaves records stranded there.
// The writer publishes its acknowledgements in the ring's header, where
// the sink reads them when it needs room or counts (a full buffer, Sync,
// Close, Stats, a reconnect, the fallback): an ack frame comes only when
// the sink waits for one (wire.HelloRingAck). Replay and every other
// guarantee are those of the socket.

// ringProducer is the client's side of a shared ring (shmring.Producer).
type ringProducer interface {
	Write(b []byte) int
	TakeSleeper() bool
	Wait() bool
	Acked() uint64
	WantAck() uint64
	Close() error
}

// shmConn is the shared ring of one connection.
type shmConn struct {
	ring  ringProducer
	ready atomic.Bool   // the writer took the ring (its first space notice)
	space chan struct{} // the writer sent a space notice
	gone  chan struct{} // closed when the connection's reader stops
}

var errRingGone = errors.New("connection closed while waiting for room in the shared ring")

var wakeByte = []byte{1}

// sendRing copies p into the ring of the connection, waking the writer if
// it sleeps, and waits for room when the ring is full. The caller holds
// wmu.
func sendRing(sc *shmConn, conn net.Conn, p []byte) error {
	for len(p) > 0 {
		n := sc.ring.Write(p)
		p = p[n:]
		if n > 0 && sc.ring.TakeSleeper() {
			if _, err := conn.Write(wakeByte); err != nil {
				return err
			}
		}
		if n == 0 && sc.ring.Wait() {
			select {
			case <-sc.space:
			case <-sc.gone:
				return errRingGone
			}
		}
	}
	return nil
}
