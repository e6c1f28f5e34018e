package forward

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// maxDepth is how deeply objects and arrays may nest in a line that is
// mapped field by field: encoding/json's limit, so that the lines the
// writer takes for objects (its validator agrees with encoding/json) are
// the lines mapped as objects here.
const maxDepth = 10000

// scanner reads one JSON text in a single pass, validating it as it goes
// and storing what it reads in pdata values. It works on a string holding
// a copy of the line: a key or a string without escapes becomes a part of
// that string, shared rather than copied, so that mapping a record costs
// one copy of the line however many fields it has.
//
// Every method returns false on the first thing that is not JSON, with
// the values it was filling left half done: the caller starts the record
// over.
type scanner struct {
	s     string
	i     int
	depth int
	esc   []byte // scratch for strings with escapes
	attrs int    // attributes of the last record, to size the next
}

// ws skips JSON whitespace.
func (p *scanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips whitespace and reports whether c comes next, consuming it.
func (p *scanner) next(c byte) bool {
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// peek skips whitespace and returns the next byte, 0 at the end.
func (p *scanner) peek() byte {
	p.ws()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// str reads a string, at its opening quote, and returns it unescaped.
// Invalid UTF-8 is an error, as in a line the writer would have wrapped;
// an escaped lone surrogate becomes U+FFFD, as encoding/json decodes it.
func (p *scanner) str() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	p.i++
	start := p.i
	// Short strings (keys, most of all) byte by byte; longer ones with
	// the vectorized search for the closing quote.
	for end := min(start+shortString, len(p.s)); p.i < end; p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20 || c >= utf8.RuneSelf:
			p.i = end // checked below
		}
	}
	p.i = start
	q := strings.IndexByte(p.s[start:], '"')
	if q < 0 {
		return "", false
	}
	v := p.s[start : start+q]
	k := strings.IndexByte(v, '\\')
	if k >= 0 {
		v = v[:k] // checked here up to the escape, by escaped after it
	}
	if !printableASCII(v) {
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 {
				return "", false
			}
		}
		if !utf8.ValidString(v) {
			return "", false
		}
	}
	if k >= 0 {
		p.i += k
		return p.escaped(start)
	}
	p.i += q + 1
	return v, true
}

// shortString is how many bytes of a string str reads one by one.
const shortString = 16

// printableASCII reports whether s holds only bytes from 0x20 to 0x7f,
// eight at a time: a byte below 0x20 borrows in the subtraction and one
// from 0x80 up has its top bit set already (a borrow only follows a byte
// below 0x20, so there is no false "true").
func printableASCII(s string) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if ((w-lo)|w)&hi != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// escaped finishes a string that began at start and has an escape at
// p.i, decoding it into a new string.
func (p *scanner) escaped(start int) (string, bool) {
	b := append(p.esc[:0], p.s[start:p.i]...)
	defer func() { p.esc = b[:0] }()
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(b) {
				return "", false
			}
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			return "", false
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(p.s, p.i)
			if !ok {
				return "", false
			}
			p.i += 4
			if utf16.IsSurrogate(r) {
				// A pair is one character; anything else is U+FFFD and the
				// escape after it, if any, is read on its own.
				r2, ok := rune(-1), false
				if p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
					r2, ok = hex4(p.s, p.i+2)
				}
				if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
					r = d
					p.i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number as JSON writes it and returns its text; integer
// tells that it has neither a fraction nor an exponent.
func (p *scanner) number() (raw string, integer, ok bool) {
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.i < len(p.s) && '1' <= p.s[p.i] && p.s[p.i] <= '9':
		p.digits()
	default:
		return "", false, false
	}
	integer = true
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if !p.digits() {
			return "", false, false
		}
		integer = false
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return "", false, false
		}
		integer = false
	}
	return p.s[start:p.i], integer, true
}

// digits skips one or more decimal digits; false if there is none.
func (p *scanner) digits() bool {
	start := p.i
	for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// literal reads true, false or null.
func (p *scanner) literal(word string) bool {
	if len(p.s)-p.i >= len(word) && p.s[p.i:p.i+len(word)] == word {
		p.i += len(word)
		return true
	}
	return false
}

// value reads any JSON value into dst: strings, booleans, integers as
// int64, other numbers as double, arrays as slices, objects as maps, null
// as an empty value.
func (p *scanner) value(dst pcommon.Value) bool {
	switch p.peek() {
	case '"':
		s, ok := p.str()
		dst.SetStr(s)
		return ok
	case '{':
		return p.object(dst.SetEmptyMap())
	case '[':
		return p.array(dst.SetEmptySlice())
	case 't':
		dst.SetBool(true)
		return p.literal("true")
	case 'f':
		dst.SetBool(false)
		return p.literal("false")
	case 'n':
		return p.literal("null")
	}
	raw, integer, ok := p.number()
	if ok {
		setNumber(dst, raw, integer)
	}
	return ok
}

// setNumber stores a number's text as an int64 if it is an integer that
// fits, as a double otherwise.
func setNumber(dst pcommon.Value, raw string, integer bool) {
	if integer {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			dst.SetInt(n)
			return
		}
	}
	f, _ := strconv.ParseFloat(raw, 64) // out of range: ±Inf, as gjson had it
	dst.SetDouble(f)
}

// enter counts one more level of nesting at an opening bracket.
func (p *scanner) enter() bool {
	p.i++
	p.depth++
	return p.depth <= maxDepth
}

// object reads an object, at its opening brace, into m; of a repeated
// key the last value wins, in the place of the first.
func (p *scanner) object(m pcommon.Map) bool {
	if !p.enter() {
		return false
	}
	if p.next('}') {
		p.depth--
		return true
	}
	for {
		p.ws()
		k, ok := p.str()
		if !ok || !p.next(':') || !p.value(m.PutEmpty(k)) {
			return false
		}
		if p.next('}') {
			p.depth--
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

// array reads an array, at its opening bracket, into s.
func (p *scanner) array(s pcommon.Slice) bool {
	if !p.enter() {
		return false
	}
	if p.next(']') {
		p.depth--
		return true
	}
	for {
		if !p.value(s.AppendEmpty()) {
			return false
		}
		if p.next(']') {
			p.depth--
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}
