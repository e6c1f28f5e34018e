package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"
	"time"
)

// chunks returns rec cut into pipe chunks of the largest size, one slice
// per write(2).
func chunks(t testing.TB, pid, id uint32, rec []byte) [][]byte {
	return chunksOf(t, MaxChunk, pid, id, rec)
}

// chunksOf returns rec cut into pipe chunks of size bytes.
func chunksOf(t testing.TB, size int, pid, id uint32, rec []byte) [][]byte {
	var out [][]byte
	err := WriteChunks(nil, size, pid, id, rec, func(c []byte) error {
		if len(c) > size {
			t.Fatalf("chunk of %d bytes exceeds %d", len(c), size)
		}
		out = append(out, slices.Clone(c))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type collected struct {
	recs     []PipeRecord
	discards []Discard
	stats    discardCounts
}

// discardCounts is what a caller counts from a ChunkReader's discards, as
// the writer does for its Stats.
type discardCounts struct {
	Partial      uint64 // partial records, whatever the reason
	GarbageBytes uint64
	TooLarge     uint64 // of the partial records, those over MaxRecord
}

func countDiscards(ds []Discard) discardCounts {
	var c discardCounts
	for _, d := range ds {
		switch d.Reason {
		case DiscardGarbage:
			c.GarbageBytes += uint64(d.Bytes)
			continue
		case DiscardTooLarge:
			c.TooLarge++
		}
		c.Partial++
	}
	return c
}

func readAll(t *testing.T, stream []byte, cfg ChunkConfig) collected {
	t.Helper()
	var c collected
	cfg.OnDiscard = func(d Discard) { c.discards = append(c.discards, d) }
	cr := NewChunkReader(iotest.HalfReader(bytes.NewReader(stream)), cfg)
	for {
		r, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		r.Data = slices.Clone(r.Data)
		c.recs = append(c.recs, r)
	}
	c.stats = countDiscards(c.discards)
	return c
}

func TestChunkHeaderRoundTrip(t *testing.T) {
	h := ChunkHeader{Flags: FlagFirst | FlagLast, Len: MaxChunkPayload, PID: 0xdeadbeef, ID: 7}
	b := make([]byte, ChunkHeaderSize)
	PutChunkHeader(b, h)
	got, err := ParseChunkHeader(b)
	if err != nil || got != h {
		t.Fatalf("got %+v, %v; want %+v", got, err, h)
	}
	for i := range ChunkHeaderSize {
		bad := slices.Clone(b)
		bad[i] ^= 0x10
		if _, err := ParseChunkHeader(bad); err == nil {
			t.Errorf("flipping a bit of byte %d went unnoticed", i)
		}
	}
}

func TestChunkCount(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{0, 1}, {1, 1}, {MaxChunkPayload, 1}, {MaxChunkPayload + 1, 2}, {DefaultMaxRecord, 258},
	} {
		if got := len(chunks(t, 1, 1, make([]byte, tt.n))); got != tt.want || ChunkCount(tt.n, MaxChunk) != tt.want {
			t.Errorf("%d bytes: %d chunks, ChunkCount %d, want %d", tt.n, got, ChunkCount(tt.n, MaxChunk), tt.want)
		}
	}
	// macOS and the BSDs: 512-byte chunks, 496 bytes of payload each.
	if got := len(chunksOf(t, 512, 1, 1, make([]byte, 1000))); got != 3 || ChunkCount(1000, 512) != 3 {
		t.Errorf("1000 bytes in 512-byte chunks: %d chunks, ChunkCount %d, want 3", got, ChunkCount(1000, 512))
	}
}

// TestSmallChunks: records cut into the 512-byte chunks of macOS and the
// BSDs, from senders interleaved chunk by chunk, are read back whole by
// the reader every system runs.
func TestSmallChunks(t *testing.T) {
	var stream []byte
	recs := map[uint32][]byte{}
	var all [][][]byte
	for pid := uint32(1); pid <= 3; pid++ {
		rec := bytes.Repeat([]byte{byte('a' + pid)}, int(pid)*700)
		recs[pid] = rec
		all = append(all, chunksOf(t, 512, pid, pid, rec))
	}
	for i := 0; ; i++ {
		more := false
		for _, cs := range all {
			if i < len(cs) {
				stream = append(stream, cs[i]...)
				more = true
			}
		}
		if !more {
			break
		}
	}
	cr := NewChunkReader(bytes.NewReader(stream), ChunkConfig{})
	for range recs {
		rec, err := cr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Data, recs[rec.PID]) {
			t.Errorf("pid %d: %d bytes, want %d", rec.PID, len(rec.Data), len(recs[rec.PID]))
		}
	}
	for _, size := range []int{0, ChunkHeaderSize, MaxChunk + 1} {
		if err := WriteChunks(nil, size, 1, 1, []byte("x"), func([]byte) error { return nil }); err == nil {
			t.Errorf("chunk size %d accepted", size)
		}
	}
}

// Senders interleave chunk by chunk, as processes sharing a pipe do; every
// record comes out whole and in each sender's order.
func TestChunkReaderInterleavedSenders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, MaxChunkPayload - 1, MaxChunkPayload, MaxChunkPayload + 1, MaxChunk, 3 * MaxChunkPayload, 100000}
	type sent struct {
		pid uint32
		rec []byte
	}
	queues := map[uint32][][]byte{}
	var want []sent
	for pid := uint32(100); pid < 105; pid++ {
		for i, n := range sizes {
			rec := make([]byte, n)
			for j := range rec {
				rec[j] = byte('a' + rng.IntN(26))
			}
			want = append(want, sent{pid, rec})
			queues[pid] = append(queues[pid], chunks(t, pid, uint32(i), rec)...)
		}
	}
	var stream []byte
	for len(queues) > 0 {
		pids := make([]uint32, 0, len(queues))
		for p := range queues {
			pids = append(pids, p)
		}
		slices.Sort(pids)
		p := pids[rng.IntN(len(pids))]
		stream = append(stream, queues[p][0]...)
		if queues[p] = queues[p][1:]; len(queues[p]) == 0 {
			delete(queues, p)
		}
	}
	got := readAll(t, stream, ChunkConfig{})
	if len(got.recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(got.recs), len(want))
	}
	next := map[uint32]int{}
	for _, r := range got.recs {
		i := next[r.PID]
		next[r.PID]++
		var w []byte
		for _, s := range want {
			if s.pid == r.PID {
				if i == 0 {
					w = s.rec
					break
				}
				i--
			}
		}
		if !bytes.Equal(r.Data, w) {
			t.Fatalf("pid %d record %d: %d bytes differ from the %d sent", r.PID, next[r.PID]-1, len(r.Data), len(w))
		}
	}
	if got.stats.Partial != 0 || got.stats.GarbageBytes != 0 {
		t.Fatalf("clean stream counted %+v", got.stats)
	}
}

func TestChunkReaderBadInput(t *testing.T) {
	big := bytes.Repeat([]byte("b"), 3*MaxChunkPayload)
	three := chunks(t, 7, 1, big)
	good := chunks(t, 8, 1, []byte("good"))[0]
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name     string
		stream   []byte
		cfg      ChunkConfig
		records  int
		partial  uint64
		garbage  uint64
		tooLarge uint64
		reasons  []DiscardReason
	}{
		{"garbage between chunks", cat([]byte("hello\n\xffL\x01junk"), good, []byte("tail"), good),
			ChunkConfig{}, 2, 0, 17, 0, []DiscardReason{DiscardGarbage, DiscardGarbage}},
		{"sender died mid record, pid reused", cat(three[0], three[1], chunks(t, 7, 99, []byte("new"))[0]),
			ChunkConfig{}, 1, 1, 0, 0, []DiscardReason{DiscardAbandoned}},
		{"continuation without start", cat(three[1], three[2], good),
			ChunkConfig{}, 1, 1, 0, 0, []DiscardReason{DiscardOrphan}},
		{"record id changes mid record", cat(three[0], chunks(t, 7, 2, big)[1], three[2], good),
			ChunkConfig{}, 1, 3, 0, 0, []DiscardReason{DiscardInconsistent, DiscardOrphan, DiscardOrphan}},
		{"stream ends mid record", cat(good, three[0], three[1]),
			ChunkConfig{}, 1, 1, 0, 0, []DiscardReason{DiscardEOF}},
		{"stream ends mid chunk", cat(good, three[0][:100]),
			ChunkConfig{}, 1, 0, 100, 0, []DiscardReason{DiscardGarbage}},
		{"record over the limit", cat(three[0], three[1], three[2], good),
			ChunkConfig{MaxRecord: 2 * MaxChunkPayload}, 1, 1, 0, 1, []DiscardReason{DiscardTooLarge}},
		{"single chunk over the limit", cat(good),
			ChunkConfig{MaxRecord: 3}, 0, 1, 0, 1, []DiscardReason{DiscardTooLarge}},
		{"memory cap", cat(three[0], chunks(t, 9, 1, big)[0], chunks(t, 9, 1, big)[1], three[1], three[2], good),
			ChunkConfig{MaxPending: 2 * MaxChunkPayload}, 1, 2, 0, 0, []DiscardReason{DiscardMemory, DiscardEOF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, tt.stream, tt.cfg)
			for _, r := range got.recs {
				if !bytes.Equal(r.Data, []byte("good")) && !bytes.Equal(r.Data, []byte("new")) {
					t.Errorf("unexpected record of %d bytes from pid %d", len(r.Data), r.PID)
				}
			}
			if len(got.recs) != tt.records || got.stats.Partial != tt.partial ||
				got.stats.GarbageBytes != tt.garbage || got.stats.TooLarge != tt.tooLarge {
				t.Errorf("got %d records, stats %+v; want %d records, partial %d, garbage %d, too large %d",
					len(got.recs), got.stats, tt.records, tt.partial, tt.garbage, tt.tooLarge)
			}
			var reasons []DiscardReason
			for _, d := range got.discards {
				reasons = append(reasons, d.Reason)
			}
			if !slices.Equal(reasons, tt.reasons) {
				t.Errorf("discard reasons %q, want %q", reasons, tt.reasons)
			}
		})
	}
}

// clockReader returns one part per Read and moves the clock forward before
// each part after the first.
type clockReader struct {
	parts [][]byte
	now   *time.Time
	step  time.Duration
	n     int
}

func (c *clockReader) Read(p []byte) (int, error) {
	if c.n == len(c.parts) {
		return 0, io.EOF
	}
	if c.n > 0 {
		*c.now = c.now.Add(c.step)
	}
	c.n++
	return copy(p, c.parts[c.n-1]), nil
}

func TestChunkReaderIdleTimeout(t *testing.T) {
	now := time.Unix(1000, 0)
	big := chunks(t, 7, 1, make([]byte, 2*MaxChunkPayload))
	alive := chunks(t, 8, 1, []byte("alive"))[0]
	var discards []Discard
	cr := NewChunkReader(&clockReader{parts: [][]byte{big[0], alive, alive}, now: &now, step: 2 * time.Second},
		ChunkConfig{
			IdleTimeout: time.Second,
			Now:         func() time.Time { return now },
			OnDiscard:   func(d Discard) { discards = append(discards, d) },
		})
	for range 2 {
		if r, err := cr.Next(); err != nil || string(r.Data) != "alive" {
			t.Fatalf("got %q, %v", r.Data, err)
		}
	}
	if _, err := cr.Next(); err != io.EOF {
		t.Fatal(err)
	}
	if len(discards) != 1 || discards[0].Reason != DiscardIdle || discards[0].PID != 7 {
		t.Fatalf("dead sender's fragment: discards %+v; want one idle discard of pid 7", discards)
	}
}

func TestWriteChunksError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	err := WriteChunks(nil, MaxChunk, 1, 1, make([]byte, 3*MaxChunkPayload), func([]byte) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("got %v after %d calls", err, calls)
	}
}

func BenchmarkChunkReader(b *testing.B) {
	var stream []byte
	rec := bytes.Repeat([]byte("r"), 200)
	for i := range 1000 {
		WriteChunks(nil, MaxChunk, uint32(i%8), uint32(i), rec, func(c []byte) error {
			stream = append(stream, c...)
			return nil
		})
	}
	rd := bytes.NewReader(stream)
	cr := NewChunkReader(rd, ChunkConfig{})
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cr.Next(); err == io.EOF {
			rd.Reset(stream)
			cr.err = nil
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// TestChunkReaderReportsGarbageWhileOpen: garbage is reported before the
// reader waits for more input, not only when a valid chunk or the end of
// the pipe comes, so a sender that writes nothing else is counted while
// it does.
func TestChunkReaderReportsGarbageWhileOpen(t *testing.T) {
	pr, pw := io.Pipe()
	got := make(chan Discard, 4)
	cr := NewChunkReader(pr, ChunkConfig{OnDiscard: func(d Discard) { got <- d }})
	done := make(chan error, 1)
	go func() {
		_, err := cr.Next()
		done <- err
	}()
	pw.Write([]byte("not a chunk at all\n"))
	select {
	case d := <-got:
		if d.Reason != DiscardGarbage || d.Bytes != len("not a chunk at all\n") {
			t.Errorf("discard %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("garbage not reported while the pipe is open")
	}
	pw.Close()
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Errorf("Next: %v", err)
	}
	select {
	case d := <-got:
		t.Errorf("reported again: %+v", d)
	default:
	}
}
