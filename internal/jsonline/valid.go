package jsonline

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// The validator: does a record hold exactly one JSON object in valid
// UTF-8? It gives the verdict of utf8.Valid(b) && json.Valid(b) (FuzzIsObject
// holds it to that) in one pass over the record, at close to the speed of
// reading it: the bodies of strings, most of a big record's bytes, are
// scanned for the only bytes that need a closer look (quote, backslash,
// control characters and non-ASCII) eight bytes at a time, and past their
// first shortString bytes with IndexByte's vector scans, with no call per
// byte. On the way it notes what the formatter needs to know next, so that
// the record is not read again: whether a newline lies between tokens (the
// object must be compacted) and whether a top-level key may be one of the
// writer's names (claimOwned must look).

// MaxDepth is encoding/json's limit on nesting: a value nested deeper is
// invalid to json.Valid, so it is to this validator too, and a reader of
// what the validator accepts can rely on it.
const MaxDepth = 10000

// scan flags: what scanObject found.
const (
	scanValid     = 1 << iota // b is one JSON object in valid UTF-8
	scanMultiline             // a newline or carriage return lies between tokens
	scanMayOwn                // a top-level key is one of ownedFields or is spelled with escapes
)

// IsObject reports whether b, with no surrounding whitespace, is one valid
// JSON object in valid UTF-8: what utf8.Valid(b) && json.Valid(b) say of a
// b that begins with '{'.
func IsObject(b []byte) bool {
	return scanObject(b)&scanValid != 0
}

// scanObject reads b, which should be one JSON object with no whitespace
// around it, and returns the scan flags; only when scanValid is set do the
// others mean anything.
func scanObject(b []byte) int {
	n := len(b)
	if n < 2 || b[0] != '{' || b[n-1] != '}' {
		return 0
	}
	// A state machine whose states are labels: value (a value starts at
	// i, maybe after whitespace), after (a value ended just before i) and
	// key (a key starts at i, maybe after whitespace).
	var (
		small  [2]uint64   // arrays for the usual nesting, without allocating
		arrays = small[:0] // bit d: the container at depth d is an array
		depth  = 0
		flags  = 0
		i      = 0
		c      byte
		ok     bool
		j      int
	)
value:
	if i < n && b[i] <= ' ' {
		i = skipSpaceNoting(b, i, &flags)
	}
	if i >= n {
		return 0
	}
	switch c = b[i]; c {
	case '"':
		if i, ok = skipString(b, i+1); !ok {
			return 0
		}
		goto after
	case '{', '[':
		if depth++; depth > MaxDepth {
			return 0
		}
		if depth>>6 >= len(arrays) {
			arrays = append(arrays, 0)
		}
		i++
		if i < n && b[i] <= ' ' {
			i = skipSpaceNoting(b, i, &flags)
		}
		if c == '[' {
			arrays[depth>>6] |= 1 << (depth & 63)
			if i < n && b[i] == ']' { // empty
				i++
				depth--
				goto after
			}
			goto value
		}
		arrays[depth>>6] &^= 1 << (depth & 63)
		if i < n && b[i] == '}' { // empty
			i++
			depth--
			goto after
		}
		goto key
	case 't':
		if !hasAt(b, i, "true") {
			return 0
		}
		i += 4
		goto after
	case 'f':
		if !hasAt(b, i, "false") {
			return 0
		}
		i += 5
		goto after
	case 'n':
		if !hasAt(b, i, "null") {
			return 0
		}
		i += 4
		goto after
	}
	if i = skipNumber(b, i); i < 0 {
		return 0
	}

after:
	if i < n && b[i] <= ' ' {
		i = skipSpaceNoting(b, i, &flags)
	}
	if depth == 0 {
		if i != n {
			return 0
		}
		return flags | scanValid
	}
	if i >= n {
		return 0
	}
	c = b[i]
	i++
	if arrays[depth>>6]&(1<<(depth&63)) != 0 {
		switch c {
		case ',':
			goto value
		case ']':
			depth--
			goto after
		}
		return 0
	}
	switch c {
	case ',':
		if i < n && b[i] <= ' ' {
			i = skipSpaceNoting(b, i, &flags)
		}
		goto key
	case '}':
		depth--
		goto after
	}
	return 0

key:
	if i >= n || b[i] != '"' {
		return 0
	}
	for j = i + 1; j < n && plainByte[b[j]]; j++ {
	}
	if j < n && b[j] == '"' {
		// The usual key: plain ASCII.
		if depth == 1 && isOwned(b[i+1:j]) {
			flags |= scanMayOwn
		}
		i = j + 1
	} else {
		if i, ok = skipString(b, j); !ok {
			return 0
		}
		if depth == 1 && bytes.IndexByte(b[j:i], '\\') >= 0 {
			flags |= scanMayOwn // claimOwned decodes it
		}
	}
	if i < n && b[i] <= ' ' {
		i = skipSpaceNoting(b, i, &flags)
	}
	if i >= n || b[i] != ':' {
		return 0
	}
	i++
	goto value
}

// skipSpaceNoting returns the position of the first byte at or after i
// that is not JSON whitespace, setting scanMultiline in flags if it
// passes a newline or carriage return.
func skipSpaceNoting(b []byte, i int, flags *int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t':
		case '\n', '\r':
			*flags |= scanMultiline
		default:
			return i
		}
		i++
	}
	return i
}

// hasAt reports whether b holds lit at i.
func hasAt(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// skipString reads the rest of a string whose opening quote is just before
// b[i]: it returns the position after the closing quote, and false if the
// string is not valid JSON in valid UTF-8 or not closed. The first
// shortString bytes are read a word at a time, looking only at the bytes
// that need a look (quote, backslash, control characters, non-ASCII); a
// longer string goes on in skipLongString.
func skipString(b []byte, i int) (int, bool) {
	end := min(len(b), i+shortString)
	for {
		i = plainRun(b, i, end)
		if i >= end {
			if end == len(b) {
				return len(b), false
			}
			return skipLongString(b, i)
		}
		var ok bool
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i, ok = skipEscape(b, i); !ok {
				return i, false
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false
			}
			i += size
		default:
			return i, false
		}
	}
}

// plainRun returns the position of the first byte of b[i:end] that is
// not a plainByte, or end.
func plainRun(b []byte, i, end int) int {
	for ; i+16 <= end; i += 16 {
		m, m2 := special(binary.LittleEndian.Uint64(b[i:])), special(binary.LittleEndian.Uint64(b[i+8:]))
		if m|m2 != 0 {
			if m == 0 {
				return i + 8 + bits.TrailingZeros64(m2)>>3
			}
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if i+8 <= end {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < end && plainByte[b[i]] {
		i++
	}
	return i
}

// special returns a word with the high bit set in the byte of x (read
// little-endian) that is the first quote, backslash, control character or
// non-ASCII byte, and maybe in later bytes; zero if x has none. Each test
// is the classic "has a zero byte" (x^'"' - 1 and x^'\\' - 1) or "has a
// byte below 0x20" (x - 0x20) trick, and x itself marks non-ASCII bytes;
// a byte at or above 0x80, which the subtractions may also mark, is
// special anyway, and their borrows can set bits only above a true hit,
// so the lowest bit set is always a true one.
func special(x uint64) uint64 {
	q := (x ^ (ones * '"')) - ones
	e := (x ^ (ones * '\\')) - ones
	return (q | e | (x - ctl) | x) & highs
}

// skipLongString goes on with a string past its first shortString bytes:
// the text between escapes is found with IndexByte and checked a word at
// a time, so that a long string costs a few vector scans, not a step per
// byte.
func skipLongString(b []byte, i int) (int, bool) {
	q := -1 // the next quote at or after i; one before it may be escaped
	for {
		if q < i {
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				return len(b), false
			}
			q = i + j
		}
		text := b[i:q]
		if e := bytes.IndexByte(text, '\\'); e >= 0 {
			text = text[:e]
		}
		if !noControl(text) || !utf8.Valid(text) {
			return i, false
		}
		i += len(text)
		if i == q {
			return q + 1, true
		}
		var ok bool
		if i, ok = skipEscape(b, i); !ok {
			return i, false
		}
	}
}

// shortString is how far skipString reads a string a word at a time.
const shortString = 128

// plainByte[c] says whether a string holds c with nothing to check: ASCII
// other than control characters, quote and backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// skipEscape reads the escape at b[i] (a backslash) and returns the
// position after it, or false if it is not one JSON allows.
func skipEscape(b []byte, i int) (int, bool) {
	if i+1 >= len(b) {
		return i, false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, true
	case 'u':
		if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
			return i, false
		}
		return i + 6, true
	}
	return i, false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	ctl   = ones * 0x20 // a control character is below 0x20
)

// noControl reports whether s has no byte below 0x20, which a JSON string
// can't hold unescaped. A word x has one exactly when (x - ctl) &^ x has a
// high bit set: a byte's high bit is set by the subtraction only if it
// was below 0x20 (or borrowed from one that was) or at least 0xA0 (which
// &^ x clears).
func noControl(s []byte) bool {
	var acc uint64
	for len(s) >= 32 {
		x := binary.LittleEndian.Uint64(s[0:8])
		y := binary.LittleEndian.Uint64(s[8:16])
		z := binary.LittleEndian.Uint64(s[16:24])
		w := binary.LittleEndian.Uint64(s[24:32])
		acc |= (x-ctl)&^x | (y-ctl)&^y | (z-ctl)&^z | (w-ctl)&^w
		s = s[32:]
	}
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s[0:8])
		acc |= (x - ctl) &^ x
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 {
			return false
		}
	}
	return acc&highs == 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipNumber reads a number that starts at b[i], as JSON spells one, and
// returns the position after it, or -1.
func skipNumber(b []byte, i int) int {
	n := len(b)
	if i < n && b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < n && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// isOwned reports whether key, a key with no escapes, is one of
// ownedFields.
func isOwned(key []byte) bool {
	switch len(key) {
	case len("stream"):
		return string(key) == "stream"
	case len("peer_pid"):
		return key[4] == '_' && (string(key) == "peer_pid" || string(key) == "peer_uid" || string(key) == "peer_gid" || string(key) == "pipe_pid")
	case len("logfanin_sid"):
		return string(key) == "logfanin_sid" || string(key) == "logfanin_seq"
	}
	return false
}

// SkipString reads the rest of a JSON string whose opening quote is just
// before b[i], as IsObject does: it returns the position after the
// closing quote, and false if the string is not valid JSON in valid UTF-8
// or is not closed. For readers that decode what IsObject accepts.
func SkipString(b []byte, i int) (int, bool) {
	return skipString(b, i)
}

// SkipNumber reads a number that starts at b[i], as JSON spells one, and
// returns the position after it, or -1.
func SkipNumber(b []byte, i int) int {
	return skipNumber(b, i)
}
