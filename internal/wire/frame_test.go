package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/logfanin/logfanin/internal/bufpool"
)

func TestFrameRoundTrip(t *testing.T) {
	recs := [][]byte{
		[]byte(`{"msg":"a"}`),
		{},
		bytes.Repeat([]byte("x"), readBufSize+10), // grows the buffer
		[]byte("after the big one"),
		bytes.Repeat([]byte("y"), DefaultMaxRecord),
	}
	var stream []byte
	for _, r := range recs {
		stream = AppendFrame(stream, r)
	}
	for _, name := range []string{"whole", "one byte reads"} {
		t.Run(name, func(t *testing.T) {
			var rd io.Reader = bytes.NewReader(stream)
			if name == "one byte reads" {
				rd = iotest.OneByteReader(rd)
			}
			fr := NewFrameReader(rd, 0)
			for i, want := range recs {
				f, err := fr.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if f.Control || !bytes.Equal(f.Payload, want) {
					t.Fatalf("frame %d: got %d bytes (control %v), want %d bytes", i, len(f.Payload), f.Control, len(want))
				}
			}
			if _, err := fr.Next(); err != io.EOF {
				t.Fatalf("after last frame: got %v, want io.EOF", err)
			}
		})
	}
}

func TestFrameReaderBadInput(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		max   int
		check func(error) bool
	}{
		{"half header", []byte{0, 0}, 0, func(err error) bool { return errors.Is(err, ErrTruncated) }},
		{"half record", AppendFrame(nil, []byte("hello"))[:7], 0, func(err error) bool { return errors.Is(err, ErrTruncated) }},
		{"4 GiB length", []byte{0x7f, 0xff, 0xff, 0xff}, 0, func(err error) bool {
			var se *SizeError
			return errors.As(err, &se) && se.Len == 0x7fffffff && se.Max == DefaultMaxRecord
		}},
		{"over custom limit", AppendFrame(nil, []byte("123456")), 5, func(err error) bool {
			var se *SizeError
			return errors.As(err, &se) && se.Len == 6 && se.Max == 5
		}},
		{"huge control frame", []byte{0xff, 0xff, 0xff, 0xff}, 0, func(err error) bool {
			var se *SizeError
			return errors.As(err, &se) && se.Control
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFrameReader(bytes.NewReader(tt.input), tt.max).Next()
			if !tt.check(err) {
				t.Fatalf("got error %v", err)
			}
		})
	}
}

func TestFrameReaderKeepsReadError(t *testing.T) {
	boom := errors.New("boom")
	rd := io.MultiReader(strings.NewReader("\x00\x00"), iotest.ErrReader(boom))
	if _, err := NewFrameReader(rd, 0).Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

// countingBudget is a BufferBudget that grants everything and counts.
type countingBudget struct{ held, grows int }

func (b *countingBudget) Grow(n int) error { b.held += n; b.grows++; return nil }
func (b *countingBudget) Shrink(n int)     { b.held -= n }

// TestFrameReaderBigRecords: a frame larger than the buffer gets a buffer
// of its own, charged to the budget until the next frame; the reader's
// own buffer never grows, so one idle after a big record holds
// readBufSize only.
func TestFrameReaderBigRecords(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 512<<10)
	stream := AppendFrame(nil, []byte("small"))
	stream = AppendFrame(stream, big)
	stream = AppendFrame(stream, big[:readBufSize])
	stream = AppendFrame(stream, []byte("small"))
	fr := NewFrameReader(iotest.HalfReader(bytes.NewReader(stream)), 0)
	var b countingBudget
	fr.SetBudget(&b)
	for i, want := range [][]byte{[]byte("small"), big, big[:readBufSize], []byte("small")} {
		f, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Payload, want) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(f.Payload), len(want))
		}
		if wantHeld := bufpool.Size(len(want)); len(want)+FrameHeaderSize > readBufSize && b.held != wantHeld {
			t.Fatalf("frame %d: budget holds %d, want %d", i, b.held, wantHeld)
		}
	}
	if _, err := fr.Next(); err != io.EOF {
		t.Fatal(err)
	}
	if b.held != 0 || b.grows != 2 {
		t.Fatalf("budget holds %d after %d grows, want 0 after 2", b.held, b.grows)
	}
	if cap(fr.buf) != readBufSize {
		t.Fatalf("buffer capacity %d after drain, want %d", cap(fr.buf), readBufSize)
	}
}

// TestFrameReaderBigRecordCut: a stream that ends inside a big record is
// ErrTruncated, and a reader stopped inside one reports the bytes it
// holds, so that the caller counts a half record.
func TestFrameReaderBigRecordCut(t *testing.T) {
	stream := AppendFrame(nil, make([]byte, 256<<10))[:200<<10]
	fr := NewFrameReader(bytes.NewReader(stream), 0)
	if _, err := fr.Next(); err != ErrTruncated {
		t.Fatalf("got %v, want ErrTruncated", err)
	}
	boom := errors.New("boom")
	fr = NewFrameReader(io.MultiReader(bytes.NewReader(stream), iotest.ErrReader(boom)), 0)
	if _, err := fr.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if fr.Buffered() == 0 {
		t.Fatal("a reader stopped inside a big record reports nothing buffered")
	}
	fr.Release()
}

func TestControlRoundTrip(t *testing.T) {
	h := Hello{Version: ProtocolVersion, Flags: HelloAck | HelloShm | HelloRingAck | HelloPyRecords, FirstSeq: 1 << 40}
	copy(h.Session[:], "0123456789abcdef")
	var stream []byte
	stream = AppendHello(stream, h)
	stream = AppendFrame(stream, []byte("rec"))
	stream = AppendAck(stream, Ack{Seq: 42})
	stream = AppendSpace(stream)
	stream = AppendError(stream, ErrorFrame{Code: CodeTooLarge, Message: "too big"})
	fr := NewFrameReader(bytes.NewReader(stream), 0)
	want := []any{h, "rec", Ack{Seq: 42}, Space{}, &ErrorFrame{Code: CodeTooLarge, Message: "too big"}}
	for i, w := range want {
		f, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := w.(string); ok {
			if f.Control || string(f.Payload) != s {
				t.Fatalf("frame %d: got %q control=%v", i, f.Payload, f.Control)
			}
			continue
		}
		if !f.Control {
			t.Fatalf("frame %d: not a control frame", i)
		}
		got, err := ParseControl(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := w.(*ErrorFrame); ok {
			g := got.(*ErrorFrame)
			if *g != *e {
				t.Fatalf("frame %d: got %+v want %+v", i, g, e)
			}
			continue
		}
		if got != w {
			t.Fatalf("frame %d: got %+v want %+v", i, got, w)
		}
	}
}

func TestParseControlRejects(t *testing.T) {
	badVersion := AppendHello(nil, Hello{Version: 9})[FrameHeaderSize:]
	badFlags := AppendHello(nil, Hello{Version: ProtocolVersion, Flags: HelloAck | 0x10})[FrameHeaderSize:]
	shmNoAck := AppendHello(nil, Hello{Version: ProtocolVersion, Flags: HelloShm})[FrameHeaderSize:]
	ringAckNoShm := AppendHello(nil, Hello{Version: ProtocolVersion, Flags: HelloAck | HelloRingAck})[FrameHeaderSize:]
	for name, p := range map[string][]byte{
		"empty":           {},
		"unknown type":    {0x77},
		"short hello":     {TypeHello, 1},
		"hello version":   badVersion,
		"hello flags":     badFlags,
		"shm no ack":      shmNoAck,
		"ring ack no shm": ringAckNoShm,
		"long ack":        make([]byte, 10),
		"long space":      {TypeSpace, 0},
		"short error":     {TypeError, 0},
	} {
		if name == "long ack" {
			p[0] = TypeAck
		}
		var pe *ProtocolError
		if _, err := ParseControl(p); !errors.As(err, &pe) {
			t.Errorf("%s: got %v, want *ProtocolError", name, err)
		}
	}
}

func BenchmarkFrameReader(b *testing.B) {
	rec := bytes.Repeat([]byte("r"), 200)
	var stream []byte
	for range 1000 {
		stream = AppendFrame(stream, rec)
	}
	rd := bytes.NewReader(stream)
	fr := NewFrameReader(rd, 0)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fr.Next(); err == io.EOF {
			rd.Reset(stream)
			fr.err = nil
			if _, err := fr.Next(); err != nil {
				b.Fatal(err)
			}
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

func TestDiscard(t *testing.T) {
	var stream []byte
	stream = AppendHello(stream, Hello{Version: ProtocolVersion, Flags: HelloAck | HelloShm})
	stream = append(stream, 1, 1, 1) // wake-up bytes read along with the hello
	fr := NewFrameReader(bytes.NewReader(stream), 0)
	if _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	if n := fr.Discard(); n != 3 {
		t.Fatalf("Discard dropped %d bytes, want 3", n)
	}
	if n := fr.Buffered(); n != 0 {
		t.Fatalf("%d bytes still buffered", n)
	}
	if _, err := fr.Next(); err != io.EOF {
		t.Fatalf("after Discard: got %v, want io.EOF", err)
	}
}
