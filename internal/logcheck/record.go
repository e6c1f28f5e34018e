package logcheck

import (
	"hash/crc32"
	"math/rand/v2"
	"strconv"

	"github.com/logfanin/logfanin/internal/wire"
)

// MinSize is the smallest record Make writes, in bytes including the
// trailing newline. It is the length of the fixed fields with the widest
// possible integers (20 characters each for "p", "s" and "n") and an empty
// body, so a record of MinSize bytes or more can be built for any producer
// and sequence number. Make rounds smaller sizes up to MinSize.
const MinSize = len(`{"p":`) + 20 + len(`,"s":`) + 20 + len(`,"n":`) + 20 +
	len(`,"c":"`) + 8 + len(`","b":"`) + len(`"}`) + 1

// PipeBuf is PIPE_BUF, the size around which Sizes puts extra weight:
// the largest atomic write to a pipe, and to a local file with O_APPEND in
// practice.
const PipeBuf = wire.PipeBuf

// bodyAlphabet has 64 characters, none of which JSON encoders escape (no
// quote, backslash, control character, '<', '>' or '&'), so a record's
// encoded size is exactly its byte length.
const bodyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const hexDigits = "0123456789abcdef"

// Make appends to dst one record of producer's record number seq and
// returns the extended slice. The record is one JSON object line,
//
//	{"p":1,"s":0,"n":120,"c":"1a2b3c4d","b":"..."}\n
//
// with the producer id, the sequence number, the record length in bytes
// including the newline, the CRC-32 (IEEE) of the body in lowercase hex,
// and a body of printable ASCII drawn from rng. The record is exactly size
// bytes long; a size below MinSize is rounded up to MinSize. Make
// allocates nothing beyond growing dst.
func Make(dst []byte, producer, seq, size int, rng *rand.Rand) []byte {
	if size < MinSize {
		size = MinSize
	}
	start := len(dst)
	dst = append(dst, `{"p":`...)
	dst = strconv.AppendInt(dst, int64(producer), 10)
	dst = append(dst, `,"s":`...)
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, `,"n":`...)
	dst = strconv.AppendInt(dst, int64(size), 10)
	dst = append(dst, `,"c":"`...)
	crcAt := len(dst)
	dst = append(dst, `00000000","b":"`...)
	bodyLen := size - (len(dst) - start) - len(`"}`) - 1
	bodyAt := len(dst)
	dst = appendBody(dst, bodyLen, rng)
	sum := crc32.ChecksumIEEE(dst[bodyAt:])
	for i := 7; i >= 0; i-- {
		dst[crcAt+i] = hexDigits[sum&0xf]
		sum >>= 4
	}
	return append(dst, "\"}\n"...)
}

// appendBody appends n characters of bodyAlphabet drawn from rng.
func appendBody(dst []byte, n int, rng *rand.Rand) []byte {
	dst = grow(dst, n)
	for n > 0 {
		v := rng.Uint64()
		for i := 0; i < 10 && n > 0; i++ {
			dst = append(dst, bodyAlphabet[v&63])
			v >>= 6
			n--
		}
	}
	return dst
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n+len(b)/4)
	copy(nb, b)
	return nb
}

// canonicalLen is the length of the record Make would produce for these
// field values, including the newline.
func canonicalLen(producer, seq, n int64, bodyLen int) int {
	var buf [20]byte
	l := len(`{"p":`) + len(strconv.AppendInt(buf[:0], producer, 10)) +
		len(`,"s":`) + len(strconv.AppendInt(buf[:0], seq, 10)) +
		len(`,"n":`) + len(strconv.AppendInt(buf[:0], n, 10)) +
		len(`,"c":"`) + 8 + len(`","b":"`) + bodyLen + len(`"}`) + 1
	return l
}
