// Package shmring is a byte ring in shared memory between one client
// process and the writer: the data path of a stream connection that
// negotiated shared memory (see docs/PROTOCOL.md). The client creates the
// ring in a sealed memfd and passes the descriptor with its hello; from
// then on it copies the bytes it would have written to the socket into the
// ring, and the socket carries only wake-ups.
//
// The ring carries a byte stream, not records: framing stays in
// internal/wire, and the writer reads the ring through a wire.FrameReader
// exactly as it reads a socket. A Producer and a Consumer each keep their
// own position privately and only publish it, so neither trusts what the
// other side stores in shared memory: the Consumer checks every head it
// loads, and the writer never faults on a ring the client shrinks (the
// memfd must be sealed against shrinking).
//
// Wake-ups follow the classic two-flag handshake: a side about to sleep
// sets its flag, then checks the other side's position once more; the
// other side publishes its position, then takes the flag (compare and
// swap) and, if it took it, sends the wake-up. Each store that precedes
// the other word's load is a full barrier (an atomic exchange), so one of
// the two always sees the other. The writer's acknowledgements use the
// same handshake in the other direction: the Consumer publishes the
// written sequence (PublishAck), and a Producer about to wait for an ack
// frame sets its flag first (WantAck).
package shmring

import "errors"

// Limits of the data area size, a power of two.
const (
	MinSize     = 4 << 10
	MaxSize     = 16 << 20
	DefaultSize = 256 << 10
)

// ErrCorrupt is returned by Consumer.Read when the producer published a
// position that no correct producer can: the connection must be closed.
var ErrCorrupt = errors.New("shmring: producer position out of range")

// ErrFlood is returned by Reader.Read when the producer sent more wake-ups
// than the writer slept: a correct producer sends one per sleep at most.
var ErrFlood = errors.New("shmring: more wake-ups than the writer slept")

// ValidSize reports whether n is a valid data area size.
func ValidSize(n int) bool {
	return n >= MinSize && n <= MaxSize && n&(n-1) == 0
}
