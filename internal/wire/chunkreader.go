package wire

import (
	"bytes"
	"io"
	"strconv"
	"time"
)

// Defaults of ChunkConfig.
const (
	DefaultMaxPending  = 16 << 20
	DefaultIdleTimeout = 30 * time.Second
)

// ChunkConfig configures a ChunkReader. The zero value is ready to use.
type ChunkConfig struct {
	// MaxRecord is the largest record reassembled (DefaultMaxRecord).
	// The chunks of a longer record are discarded (DiscardTooLarge).
	MaxRecord int
	// MaxPending caps the bytes held in unfinished records of all senders
	// together (DefaultMaxPending). Over it, the fragment that has waited
	// longest is discarded (DiscardMemory).
	MaxPending int
	// IdleTimeout discards a fragment whose sender sent nothing for it this
	// long (DefaultIdleTimeout): the sender most likely died half way.
	IdleTimeout time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// OnDiscard, if set, is called for every discarded partial record and
	// every run of garbage bytes: the caller counts them (the reader keeps
	// no counters) and prints its diagnostics.
	OnDiscard func(Discard)
}

// Discard describes input a ChunkReader threw away: a run of garbage
// bytes (DiscardGarbage), or one partial record for any other reason. A
// caller that counts discards by Reason counts every partial record once.
type Discard struct {
	Reason DiscardReason
	PID    uint32 // sender, zero for garbage
	Bytes  int    // bytes thrown away (so far, for a partial record)
}

// DiscardReason says why a ChunkReader threw input away.
type DiscardReason uint8

// Reasons for a Discard.
const (
	DiscardGarbage      DiscardReason = iota + 1 // bytes that are not a valid chunk, skipped while resynchronising
	DiscardAbandoned                             // the sender started a new record before finishing this one
	DiscardInconsistent                          // a chunk of another record id came in the middle of this one
	DiscardOrphan                                // a continuation whose first chunk never came
	DiscardTooLarge                              // the record grew over MaxRecord
	DiscardIdle                                  // the sender sent nothing for IdleTimeout
	DiscardMemory                                // evicted to keep MaxPending
	DiscardEOF                                   // the pipe ended with the record unfinished
)

var discardNames = [...]string{
	DiscardGarbage:      "garbage",
	DiscardAbandoned:    "abandoned",
	DiscardInconsistent: "inconsistent",
	DiscardOrphan:       "orphan",
	DiscardTooLarge:     "too large",
	DiscardIdle:         "idle",
	DiscardMemory:       "memory",
	DiscardEOF:          "eof",
}

// String returns the reason as diagnostics print it, such as "too large".
func (r DiscardReason) String() string {
	if int(r) < len(discardNames) && discardNames[r] != "" {
		return discardNames[r]
	}
	return "DiscardReason(" + strconv.Itoa(int(r)) + ")"
}

// PipeRecord is one reassembled record.
type PipeRecord struct {
	PID  uint32
	ID   uint32
	Data []byte // valid until the next call to Next
}

type fragment struct {
	id   uint32
	buf  []byte
	last time.Time
	skip bool // discarding: drop the rest of this record's chunks quietly
}

// ChunkReader reads pipe chunks written by many senders and returns whole
// records. Only whole records are ever returned: a partial record is
// discarded and reported to OnDiscard. Next is not safe for concurrent
// use.
type ChunkReader struct {
	rd      io.Reader
	cfg     ChunkConfig
	buf     []byte
	r, w    int
	err     error
	pending map[uint32]*fragment
	held    int // payload bytes in pending
	spare   []byte
	swept   time.Time

	garbageRun int // skipped bytes not yet reported
}

// NewChunkReader returns a ChunkReader reading from rd.
func NewChunkReader(rd io.Reader, cfg ChunkConfig) *ChunkReader {
	cfg.MaxRecord = recordLimit(cfg.MaxRecord)
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ChunkReader{
		rd:      rd,
		cfg:     cfg,
		buf:     make([]byte, 16*MaxChunk),
		pending: make(map[uint32]*fragment),
	}
}

// Next returns the next whole record. When the pipe is closed by every
// writer it discards what is still unfinished and returns io.EOF.
func (cr *ChunkReader) Next() (PipeRecord, error) {
	for {
		if rec, ok := cr.parse(); ok {
			return rec, nil
		}
		cr.sweep()
		if cr.err != nil {
			cr.finish()
			return PipeRecord{}, cr.err
		}
		if cr.r > 0 {
			cr.w = copy(cr.buf, cr.buf[cr.r:cr.w])
			cr.r = 0
		}
		// Report the garbage skipped so far before a read that may
		// wait: a sender that writes nothing but garbage is counted
		// while it does, not when a valid chunk or the end comes.
		cr.flushGarbage()
		n, err := cr.rd.Read(cr.buf[cr.w:])
		cr.w += n
		if err != nil {
			cr.err = err
		}
	}
}

// parse consumes buffered chunks until one completes a record.
func (cr *ChunkReader) parse() (PipeRecord, bool) {
	for {
		b := cr.buf[cr.r:cr.w]
		if len(b) == 0 {
			return PipeRecord{}, false
		}
		if b[0] != chunkMagic0 {
			skip := bytes.IndexByte(b, chunkMagic0)
			if skip < 0 {
				skip = len(b)
			}
			cr.skipGarbage(skip)
			continue
		}
		if len(b) < ChunkHeaderSize {
			if len(b) >= 2 && b[1] != chunkMagic1 {
				cr.skipGarbage(1)
				continue
			}
			return PipeRecord{}, false
		}
		h, err := ParseChunkHeader(b)
		if err != nil {
			cr.skipGarbage(1)
			continue
		}
		if len(b) < ChunkHeaderSize+h.Len {
			return PipeRecord{}, false
		}
		payload := b[ChunkHeaderSize : ChunkHeaderSize+h.Len]
		cr.r += ChunkHeaderSize + h.Len
		cr.flushGarbage()
		if data, ok := cr.add(h, payload); ok {
			return PipeRecord{PID: h.PID, ID: h.ID, Data: data}, true
		}
	}
}

func (cr *ChunkReader) skipGarbage(n int) {
	cr.r += n
	cr.garbageRun += n
}

// flushGarbage reports a run of skipped bytes once, not byte by byte: when
// a valid chunk ends it, before a read that may wait, and at the end.
func (cr *ChunkReader) flushGarbage() {
	if cr.garbageRun > 0 {
		cr.report(Discard{Reason: DiscardGarbage, Bytes: cr.garbageRun})
		cr.garbageRun = 0
	}
}

// report hands d to OnDiscard: the caller's counters and diagnostics are
// the only account of what was thrown away.
func (cr *ChunkReader) report(d Discard) {
	if cr.cfg.OnDiscard != nil {
		cr.cfg.OnDiscard(d)
	}
}

// add files one chunk and returns the record it completes, if any.
func (cr *ChunkReader) add(h ChunkHeader, payload []byte) ([]byte, bool) {
	f := cr.pending[h.PID]
	if h.First() {
		if f != nil {
			// One sender writes one record at a time: a new record means
			// the old one will never finish (the sender died and its pid
			// was reused, or it was interrupted).
			cr.drop(h.PID, f, DiscardAbandoned)
		}
		if h.Last() {
			if h.Len > cr.cfg.MaxRecord {
				cr.countDiscard(h.PID, DiscardTooLarge, h.Len)
				return nil, false
			}
			return payload, true
		}
		f = &fragment{id: h.ID, buf: cr.takeSpare()}
		cr.pending[h.PID] = f
	} else if f == nil || f.id != h.ID {
		if f != nil {
			cr.drop(h.PID, f, DiscardInconsistent)
		}
		// A continuation without its start: its start was discarded or
		// never came. Count the record once and drop the rest of it.
		cr.countDiscard(h.PID, DiscardOrphan, h.Len)
		if !h.Last() {
			cr.pending[h.PID] = &fragment{id: h.ID, skip: true, last: cr.cfg.Now()}
		}
		return nil, false
	}
	f.last = cr.cfg.Now()
	if f.skip {
		if h.Last() {
			delete(cr.pending, h.PID)
		}
		return nil, false
	}
	if len(f.buf)+h.Len > cr.cfg.MaxRecord {
		cr.drop(h.PID, f, DiscardTooLarge)
		if !h.Last() {
			cr.pending[h.PID] = &fragment{id: h.ID, skip: true, last: f.last}
		}
		return nil, false
	}
	f.buf = append(f.buf, payload...)
	cr.held += h.Len
	for cr.held > cr.cfg.MaxPending {
		cr.evictOldest()
	}
	if cr.pending[h.PID] != f {
		// Evicted for memory just now.
		if h.Last() {
			delete(cr.pending, h.PID)
		}
		return nil, false
	}
	if !h.Last() {
		return nil, false
	}
	delete(cr.pending, h.PID)
	cr.held -= len(f.buf)
	cr.spare = f.buf // handed out now, reused after the next call
	return f.buf, true
}

func (cr *ChunkReader) takeSpare() []byte {
	b := cr.spare[:0]
	cr.spare = nil
	if cap(b) > 4*readBufSize {
		b = nil // don't keep a large buffer alive for small records
	}
	return b
}

// drop discards the fragment f of pid and reports it.
func (cr *ChunkReader) drop(pid uint32, f *fragment, reason DiscardReason) {
	delete(cr.pending, pid)
	if f.skip {
		return
	}
	cr.held -= len(f.buf)
	cr.countDiscard(pid, reason, len(f.buf))
}

// countDiscard reports one partial record of pid, n bytes, thrown away.
func (cr *ChunkReader) countDiscard(pid uint32, reason DiscardReason, n int) {
	cr.report(Discard{Reason: reason, PID: pid, Bytes: n})
}

func (cr *ChunkReader) evictOldest() {
	var (
		oldPID uint32
		old    *fragment
	)
	for pid, f := range cr.pending {
		if !f.skip && (old == nil || f.last.Before(old.last)) {
			oldPID, old = pid, f
		}
	}
	cr.drop(oldPID, old, DiscardMemory)
	cr.pending[oldPID] = &fragment{id: old.id, skip: true, last: old.last}
}

// sweep discards fragments idle for longer than IdleTimeout. It runs at
// most a few times per timeout period.
func (cr *ChunkReader) sweep() {
	now := cr.cfg.Now()
	if len(cr.pending) == 0 || now.Sub(cr.swept) < cr.cfg.IdleTimeout/4 {
		return
	}
	cr.swept = now
	for pid, f := range cr.pending {
		if now.Sub(f.last) > cr.cfg.IdleTimeout {
			cr.drop(pid, f, DiscardIdle)
		}
	}
}

// finish runs at end of input: unfinished records and a half chunk are
// discarded, never returned.
func (cr *ChunkReader) finish() {
	for pid, f := range cr.pending {
		cr.drop(pid, f, DiscardEOF)
	}
	if n := cr.w - cr.r; n > 0 {
		cr.skipGarbage(n)
	}
	cr.flushGarbage()
}
