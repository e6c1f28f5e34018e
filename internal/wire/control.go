package wire

import (
	"encoding/binary"
	"fmt"
)

// Control frame types: the first byte of a control frame's payload.
const (
	TypeHello = 0x01 // client → writer, first frame of a connection
	TypeAck   = 0x02 // writer → client
	TypeError = 0x03 // writer → client, just before the writer closes
	TypeSpace = 0x04 // writer → client: the shared ring has room again
)

// ProtocolVersion is the version a hello carries.
const ProtocolVersion = 1

// Hello flags.
const (
	// HelloAck asks the writer for acknowledgements.
	HelloAck = 0x01
	// HelloShm says that the data frames come through the shared ring
	// whose memfd travels with the hello (SCM_RIGHTS), not through the
	// socket; it needs HelloAck.
	HelloShm = 0x02
	// HelloRingAck says that the client reads the writer's position from
	// the shared ring's header and asks for an Ack frame only when it
	// waits for one; it needs HelloShm.
	HelloRingAck = 0x04
	// HelloPyRecords says that a record starting with '(' is a Python
	// record: marshal's encoding of a tuple of fields, which the writer
	// turns into the JSON object the Python client would have written
	// (package internal/pyrecord). Other records are as without it.
	HelloPyRecords = 0x08
)

// SessionIDSize is the length of a session id.
const SessionIDSize = 16

const helloSize = 1 + 1 + 1 + SessionIDSize + 8

// Hello opens a connection that wants acknowledgements. The data frames
// that follow it carry the sequence numbers FirstSeq, FirstSeq+1, … in
// order; the writer acknowledges the highest sequence written to its
// output. A client that reconnects sends a new Hello with the same Session
// and the sequence of the first record it replays.
type Hello struct {
	Version  uint8
	Flags    uint8
	Session  [SessionIDSize]byte
	FirstSeq uint64
}

// AppendHello appends h to dst as a control frame.
func AppendHello(dst []byte, h Hello) []byte {
	dst = binary.BigEndian.AppendUint32(dst, ControlBit|helloSize)
	dst = append(dst, TypeHello, h.Version, h.Flags)
	dst = append(dst, h.Session[:]...)
	return binary.BigEndian.AppendUint64(dst, h.FirstSeq)
}

// Ack tells a client that every record up to and including Seq has been
// written to the writer's output descriptor.
type Ack struct {
	Seq uint64
}

// AppendAck appends a as a control frame.
func AppendAck(dst []byte, a Ack) []byte {
	dst = binary.BigEndian.AppendUint32(dst, ControlBit|9)
	dst = append(dst, TypeAck)
	return binary.BigEndian.AppendUint64(dst, a.Seq)
}

// Space tells a client waiting for room in its shared ring that the
// writer has taken bytes out of it.
type Space struct{}

// AppendSpace appends a space notice as a control frame.
func AppendSpace(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, ControlBit|1)
	return append(dst, TypeSpace)
}

// Error codes carried by an ErrorFrame.
const (
	CodeTooLarge = 1 // a record exceeded the writer's limit
	CodeProtocol = 2 // malformed input
	CodeRefused  = 3 // the sender is not allowed
	CodeIdle     = 4 // the connection was idle inside a frame for too long
	CodeSession  = 5 // the hello names a session that another process owns
	CodeFlood    = 6 // the client sent far more than a correct client can (wake-ups)
)

// ErrorFrame is the writer's last word before it closes a connection.
type ErrorFrame struct {
	Code    uint16
	Message string
}

// Error describes the writer's reason for closing the connection.
func (e *ErrorFrame) Error() string {
	return fmt.Sprintf("writer closed the connection (code %d): %s", e.Code, e.Message)
}

// AppendError appends e as a control frame; the message is cut to fit
// MaxControl.
func AppendError(dst []byte, e ErrorFrame) []byte {
	msg := e.Message
	if len(msg) > MaxControl-3 {
		msg = msg[:MaxControl-3]
	}
	dst = binary.BigEndian.AppendUint32(dst, ControlBit|uint32(3+len(msg)))
	dst = append(dst, TypeError)
	dst = binary.BigEndian.AppendUint16(dst, e.Code)
	return append(dst, msg...)
}

// ParseControl decodes a control frame payload into a Hello, Ack, Space or
// *ErrorFrame.
func ParseControl(p []byte) (any, error) {
	if len(p) == 0 {
		return nil, &ProtocolError{Reason: "empty control frame"}
	}
	switch p[0] {
	case TypeHello:
		if len(p) != helloSize {
			return nil, &ProtocolError{Reason: fmt.Sprintf("hello of %d bytes, want %d", len(p), helloSize)}
		}
		h := Hello{Version: p[1], Flags: p[2], FirstSeq: binary.BigEndian.Uint64(p[3+SessionIDSize:])}
		copy(h.Session[:], p[3:3+SessionIDSize])
		if h.Version != ProtocolVersion {
			return nil, &ProtocolError{Reason: fmt.Sprintf("hello version %d, want %d", h.Version, ProtocolVersion)}
		}
		if h.Flags&^(HelloAck|HelloShm|HelloRingAck|HelloPyRecords) != 0 {
			return nil, &ProtocolError{Reason: fmt.Sprintf("unknown hello flags %#x", h.Flags)}
		}
		if h.Flags&HelloShm != 0 && h.Flags&HelloAck == 0 {
			return nil, &ProtocolError{Reason: "hello asks for shared memory without acknowledgements"}
		}
		if h.Flags&HelloRingAck != 0 && h.Flags&HelloShm == 0 {
			return nil, &ProtocolError{Reason: "hello asks for acknowledgements in a ring without one"}
		}
		return h, nil
	case TypeAck:
		if len(p) != 9 {
			return nil, &ProtocolError{Reason: fmt.Sprintf("ack of %d bytes, want 9", len(p))}
		}
		return Ack{Seq: binary.BigEndian.Uint64(p[1:])}, nil
	case TypeSpace:
		if len(p) != 1 {
			return nil, &ProtocolError{Reason: fmt.Sprintf("space notice of %d bytes, want 1", len(p))}
		}
		return Space{}, nil
	case TypeError:
		if len(p) < 3 {
			return nil, &ProtocolError{Reason: "short error frame"}
		}
		return &ErrorFrame{Code: binary.BigEndian.Uint16(p[1:]), Message: string(p[3:])}, nil
	}
	return nil, &ProtocolError{Reason: fmt.Sprintf("unknown control frame type %#x", p[0])}
}
