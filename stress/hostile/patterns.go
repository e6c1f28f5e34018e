package hostile

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/logfanin/logfanin/internal/pyrecord"
	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
)

// Pattern is one kind of cheap client work.
type Pattern struct {
	Name string
	What string // what the client does, for the table
	// CutOff says that the writer is expected to close the client's
	// connection for it, with an error frame.
	CutOff bool
	attack func(t *target, until time.Time) (ops int, cut bool, err error)
}

// target is what an attacker process can reach.
type target struct {
	stream, dgram string   // socket paths
	pipe          *os.File // the write end of the writer's shared pipe
}

// dial connects to the stream socket. It returns no connection and no
// error when the backlog is full (the writer is behind): the attacker
// tries again, as a real one would.
func (t *target) dial() (net.Conn, error) {
	c, err := net.Dial("unix", t.stream)
	if errors.Is(err, syscall.EAGAIN) {
		return nil, nil
	}
	return c, err
}

// Patterns are the patterns measured, the first a correct client's work
// for comparison.
var Patterns = []Pattern{
	{Name: "records", What: "200-byte JSON records, 64 KiB per write(2) (a correct client's load, for comparison)", attack: framesAttack(200)},
	{Name: "tiny-frames", What: "1-byte records, 64 KiB of frames per write(2)", attack: framesAttack(1)},
	{Name: "empty-frames", What: "empty records, 64 KiB of frames per write(2)", attack: framesAttack(0)},
	{Name: "wake-flood", What: "a shared ring, then 64 KiB blocks of wake-ups; reconnects when cut off", CutOff: true, attack: wakeFlood},
	{Name: "datagrams", What: "1-byte datagrams", attack: tinyDatagrams},
	{Name: "pipe-garbage", What: "random bytes on the shared pipe, 4 KiB per write(2)", attack: pipeGarbage},
	{Name: "hellos", What: "connect, hello with a new session, close; in a loop", attack: hellos},
	{Name: "connects", What: "connect and close, in a loop", attack: connects},
	{Name: "bad-length", What: "connect, a frame header of 2 GiB, in a loop (closed with an error frame)", CutOff: true, attack: badLength},
	{Name: "py-controls", What: "200-byte Python records whose message is control characters (its JSON 6 times as long), 64 KiB per write(2)", attack: pyAttack(false)},
	{Name: "py-malformed", What: "200-byte Python records cut short (written as text), 64 KiB per write(2)", attack: pyAttack(true)},
}

// PatternNamed returns the pattern called name.
func PatternNamed(name string) (Pattern, bool) {
	for _, p := range Patterns {
		if p.Name == name {
			return p, true
		}
	}
	return Pattern{}, false
}

// framesAttack writes 64 KiB blocks of frames of size-byte records.
func framesAttack(size int) func(*target, time.Time) (int, bool, error) {
	return func(t *target, until time.Time) (int, bool, error) {
		rec := []byte(`"`)
		if size >= 2 {
			rec = append(make([]byte, 0, size), `{"m":"`...)
			for len(rec) < size-2 {
				rec = append(rec, 'x')
			}
			rec = append(rec, `"}`...)
		} else if size == 0 {
			rec = nil
		}
		return flood(t, until, nil, rec)
	}
}

// flood connects, sends hello (if any) and then 64 KiB blocks of frames
// of rec until until; ops counts the frames.
func flood(t *target, until time.Time, hello, rec []byte) (int, bool, error) {
	var block []byte
	for len(block)+4+len(rec) <= 64<<10 {
		block = wire.AppendFrame(block, rec)
	}
	c, err := net.Dial("unix", t.stream)
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	if _, err := c.Write(hello); err != nil {
		return 0, false, fmt.Errorf("write: %w", err)
	}
	ops := 0
	for time.Now().Before(until) {
		if _, err := c.Write(block); err != nil {
			return ops, false, fmt.Errorf("write: %w", err)
		}
		ops += len(block) / (4 + len(rec))
	}
	return ops, false, nil
}

// pyAttack sends Python records (wire.HelloPyRecords) of 200 bytes whose
// message is control characters, which the writer escapes 6 bytes for
// one, or, malformed, the same records cut short.
func pyAttack(malformed bool) func(*target, time.Time) (int, bool, error) {
	return func(t *target, until time.Time) (int, bool, error) {
		rec := append([]byte{}, pyrecord.Magic[:]...)
		rec = append(rec, 'g')
		rec = binary.LittleEndian.AppendUint64(rec, math.Float64bits(1795967857.25))
		str := func(s []byte) {
			rec = append(rec, 'u')
			rec = binary.LittleEndian.AppendUint32(rec, uint32(len(s)))
			rec = append(rec, s...)
		}
		str([]byte("info"))
		str([]byte("x"))
		str(make([]byte, 200-len(rec)-5-4)) // NUL bytes, \u0000 each: the record ends 200 bytes long
		rec = append(rec, 'N', 'N', '{', '0')
		if malformed {
			rec = rec[:len(rec)-1]
		}
		hello := wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloPyRecords})
		return flood(t, until, hello, rec)
	}
}

// wakeFlood opens connections with a shared ring and floods each with
// wake-ups until the writer closes it, then opens the next.
func wakeFlood(t *target, until time.Time) (int, bool, error) {
	flood := make([]byte, 64<<10)
	hello := wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck | wire.HelloShm, FirstSeq: 1})
	ops, cut := 0, false
	for time.Now().Before(until) {
		ring, memfd, err := shmring.NewProducer(shmring.MinSize)
		if err != nil {
			return ops, cut, err
		}
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: t.stream, Net: "unix"})
		if err != nil {
			ring.Close()
			memfd.Close()
			return ops, cut, err
		}
		if _, _, err := c.WriteMsgUnix(hello, shmring.PassFD(memfd), nil); err != nil {
			return ops, cut, err
		}
		memfd.Close()
		for time.Now().Before(until) {
			if _, err := c.Write(flood); err != nil {
				break
			}
			ops += len(flood)
		}
		c.CloseWrite()
		if code, ok := errorFrame(c); ok && code == wire.CodeFlood {
			cut = true
		}
		c.Close()
		ring.Close()
	}
	return ops, cut, nil
}

// errorFrame reads what the writer sent until the connection ends and
// returns the code of its error frame, if it sent one.
func errorFrame(c net.Conn) (uint16, bool) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := wire.NewFrameReader(c, 0)
	var code uint16
	found := false
	for {
		f, err := fr.Next()
		if err != nil {
			return code, found
		}
		if v, err := wire.ParseControl(f.Payload); err == nil {
			if ef, ok := v.(*wire.ErrorFrame); ok {
				code, found = ef.Code, true
			}
		}
	}
}

func tinyDatagrams(t *target, until time.Time) (int, bool, error) {
	c, err := net.Dial("unixgram", t.dgram)
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	ops := 0
	b := []byte{'x'}
	for time.Now().Before(until) {
		for range 64 {
			if _, err := c.Write(b); err != nil {
				return ops, false, fmt.Errorf("send: %w", err)
			}
			ops++
		}
	}
	return ops, false, nil
}

func pipeGarbage(t *target, until time.Time) (int, bool, error) {
	b := make([]byte, 4096)
	rand.Read(b)
	// No chunk header the reader could take for a real one.
	for i := range b {
		if b[i] == 0 {
			b[i] = 1
		}
	}
	ops := 0
	for time.Now().Before(until) {
		if _, err := t.pipe.Write(b); err != nil {
			return ops, false, fmt.Errorf("pipe: %w", err)
		}
		ops += len(b)
	}
	return ops, false, nil
}

func hellos(t *target, until time.Time) (int, bool, error) {
	ops := 0
	h := wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck, FirstSeq: 1}
	var b []byte
	for time.Now().Before(until) {
		c, err := t.dial()
		if err != nil {
			return ops, false, err
		}
		if c == nil {
			continue
		}
		rand.Read(h.Session[:])
		b = wire.AppendHello(b[:0], h)
		if _, err := c.Write(b); err != nil {
			c.Close()
			return ops, false, err
		}
		c.Close()
		ops++
	}
	return ops, false, nil
}

func connects(t *target, until time.Time) (int, bool, error) {
	ops := 0
	for time.Now().Before(until) {
		c, err := t.dial()
		if err != nil {
			return ops, false, err
		}
		if c != nil {
			c.Close()
			ops++
		}
	}
	return ops, false, nil
}

func badLength(t *target, until time.Time) (int, bool, error) {
	ops, cut := 0, false
	b := binary.BigEndian.AppendUint32(nil, 0x7fffffff)
	for time.Now().Before(until) {
		c, err := t.dial()
		if err != nil {
			return ops, cut, err
		}
		if c == nil {
			continue
		}
		if _, err := c.Write(b); err != nil && !errors.Is(err, net.ErrClosed) {
			c.Close()
			continue
		}
		if code, ok := errorFrame(c); ok && code == wire.CodeTooLarge {
			cut = true
		}
		c.Close()
		ops++
	}
	return ops, cut, nil
}
