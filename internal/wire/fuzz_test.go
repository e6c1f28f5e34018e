package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzFrameReader: any input yields frames within the limit and then a
// clean error; never a panic, never a frame over the limit.
func FuzzFrameReader(f *testing.F) {
	f.Add(AppendFrame(nil, []byte(`{"msg":"hi"}`)))
	f.Add(AppendHello(AppendFrame(nil, nil), Hello{Version: ProtocolVersion}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 9, 'a'})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 64
		fr := NewFrameReader(bytes.NewReader(in), max)
		consumed := 0
		for {
			fm, err := fr.Next()
			if err != nil {
				var se *SizeError
				if err != io.EOF && !errors.Is(err, ErrTruncated) && !errors.As(err, &se) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !fm.Control && len(fm.Payload) > max {
				t.Fatalf("record of %d bytes over the limit", len(fm.Payload))
			}
			if fm.Control {
				ParseControl(fm.Payload) // must not panic
			}
			consumed += FrameHeaderSize + len(fm.Payload)
			if consumed > len(in) {
				t.Fatalf("frames longer than the input")
			}
		}
	})
}

// FuzzChunkReader: a pipe carries whole writes only, so the input is the
// first chunks of a record whose sender died, one garbage write, then a
// record sent whole. Only the whole record may come out, and it must.
func FuzzChunkReader(f *testing.F) {
	f.Add([]byte("garbage\xffL"), []byte("record"), uint8(3))
	f.Add([]byte{}, bytes.Repeat([]byte("z"), 5000), uint8(0))
	f.Add([]byte("\xffL\x01\x03\x00\x05"), []byte{}, uint8(200))
	f.Fuzz(func(t *testing.T, garbage, rec []byte, died uint8) {
		for i := range garbage {
			if _, err := ParseChunkHeader(garbage[i:]); err == nil {
				// A forged header with a valid check can swallow the
				// next write: a limit of resynchronisation, see PROTOCOL.md.
				t.Skip("garbage holds a valid chunk header")
			}
		}
		var dead [][]byte
		WriteChunks(nil, MaxChunk, 2, 9, bytes.Repeat([]byte("d"), 4*MaxChunkPayload), func(c []byte) error {
			dead = append(dead, bytes.Clone(c))
			return nil
		})
		var input []byte
		for _, c := range dead[:int(died)%len(dead)] {
			input = append(input, c...)
		}
		input = append(input, garbage...)
		WriteChunks(nil, MaxChunk, 1, 1, rec, func(c []byte) error {
			input = append(input, c...)
			return nil
		})
		var discards []Discard
		cr := NewChunkReader(bytes.NewReader(input), ChunkConfig{
			MaxRecord: 1 << 16,
			OnDiscard: func(d Discard) { discards = append(discards, d) },
		})
		found := 0
		for {
			r, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.PID != 1 || !bytes.Equal(r.Data, rec) {
				t.Fatalf("record of %d bytes from pid %d that was never sent whole", len(r.Data), r.PID)
			}
			found++
		}
		if found != 1 {
			t.Fatalf("got the record %d times, want once (discards %+v)", found, discards)
		}
		if c := countDiscards(discards); died%4 != 0 && c.Partial != 1 {
			t.Fatalf("dead sender's fragment counted %d times, want 1", c.Partial)
		}
	})
}
