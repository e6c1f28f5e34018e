package pyrecord

import (
	"encoding/binary"
	"math/bits"
)

const hexDigits = "0123456789abcdef"

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// appendString appends s, a str as marshal writes it (UTF-8 in which
// surrogate code points may stand alone), as the JSON string Python's json
// module writes with ensure_ascii: printable ASCII as it is but for the
// quote and backslash, \n \r \t \b \f, \u00XX for the other control
// characters and DEL, and \uXXXX (lower-case hex) for every other code
// point, as a surrogate pair above U+FFFF. bad is the offset in s of a
// byte that is not UTF-8, or -1.
func appendString(dst, s []byte) (out []byte, bad int) {
	dst = append(dst, '"')
	start := 0
	i := 0
	for i < len(s) {
		c := s[i]
		if plain(c) {
			// Bytes to escape in a row go below without a run's scan.
			i = plainRun(s, i+1)
			continue
		}
		dst = append(dst, s[start:i]...)
		if c < 0x80 {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = appendU(dst, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if size == 0 {
			return dst, i
		}
		if r > 0xffff {
			r -= 0x10000
			dst = appendU(dst, 0xd800+(r>>10))
			dst = appendU(dst, 0xdc00+(r&0x3ff))
		} else {
			dst = appendU(dst, r)
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), -1
}

// plain reports whether appendString copies c as it is.
func plain(c byte) bool { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' }

// plainRun returns the position of the first byte of s from i on that is
// not plain, or len(s): two words at a time over plain ASCII, which long
// messages mostly are, then byte by byte.
func plainRun(s []byte, i int) int {
	for ; i+16 <= len(s); i += 16 {
		m, m2 := escaped(binary.LittleEndian.Uint64(s[i:])), escaped(binary.LittleEndian.Uint64(s[i+8:]))
		if m|m2 != 0 {
			if m == 0 {
				return i + 8 + bits.TrailingZeros64(m2)>>3
			}
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if i+8 <= len(s) {
		if m := escaped(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(s) && plain(s[i]) {
		i++
	}
	return i
}

// escaped returns a word with the high bit set in the byte of x (read
// little-endian) that is the first one appendString does not copy as it
// is (a quote, backslash, control character, DEL or non-ASCII byte), and
// maybe in later bytes; zero if x has none. Each test is the classic "has
// a zero byte" (x^c - 1) or "has a byte below 0x20" (x - 0x20) trick;
// their borrows can set bits only above a true hit, so the lowest bit set
// is always a true one.
func escaped(x uint64) uint64 {
	q := (x ^ (ones * '"')) - ones
	b := (x ^ (ones * '\\')) - ones
	del := (x ^ (ones * 0x7f)) - ones
	return (q | b | del | (x - ones*0x20) | x) & highs
}

func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// decodeRune decodes the UTF-8 sequence at the start of s as Python's
// "surrogatepass" handler does: as UTF-8, but with the code points
// U+D800 to U+DFFF allowed. size is 0 if s does not start with one.
func decodeRune(s []byte) (r rune, size int) {
	c := s[0]
	switch {
	case c >= 0xc2 && c <= 0xdf:
		if len(s) >= 2 && cont(s[1]) {
			return rune(c&0x1f)<<6 | rune(s[1]&0x3f), 2
		}
	case c >= 0xe0 && c <= 0xef:
		if len(s) >= 3 && cont(s[1]) && cont(s[2]) {
			r = rune(c&0x0f)<<12 | rune(s[1]&0x3f)<<6 | rune(s[2]&0x3f)
			if r >= 0x800 {
				return r, 3
			}
		}
	case c >= 0xf0 && c <= 0xf4:
		if len(s) >= 4 && cont(s[1]) && cont(s[2]) && cont(s[3]) {
			r = rune(c&0x07)<<18 | rune(s[1]&0x3f)<<12 | rune(s[2]&0x3f)<<6 | rune(s[3]&0x3f)
			if r >= 0x10000 && r <= 0x10ffff {
				return r, 4
			}
		}
	}
	return 0, 0
}

func cont(c byte) bool { return c&0xc0 == 0x80 }
