package logcheck

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
)

// Fields are the check fields of one record, for programs that log them
// through an encoder of their own (zap, slog) instead of writing Make's
// lines: a line that carries "p", "s", "n", "c" and "b" with these values,
// among any other fields, is checked like a record of Make.
type Fields struct {
	Producer int    // "p"
	Seq      int    // "s"
	N        int    // "n": the length Make's line of these fields has
	C        string // "c": CRC-32 of B in hex
	B        string // "b": the body
}

// NewFields returns the check fields of the record Make would write for
// the same arguments.
func NewFields(producer, seq, size int, rng *rand.Rand) Fields {
	size = max(size, MinSize)
	body := appendBody(nil, size-canonicalLen(int64(producer), int64(seq), int64(size), 0), rng)
	return Fields{
		Producer: producer,
		Seq:      seq,
		N:        size,
		C:        fmt.Sprintf("%08x", crc32.ChecksumIEEE(body)),
		B:        string(body),
	}
}
