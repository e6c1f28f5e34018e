package forward

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/logfanin/logfanin/internal/jsonline"
)

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
// The string is read by the writer's own validator (invalid UTF-8 or a
// bad escape is an error, as in a line the writer would have wrapped); an
// escaped lone surrogate becomes U+FFFD, as encoding/json decodes it.
func (p *scanner) str() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	end, ok := jsonline.SkipString(p.bytes(), start)
	if !ok {
		return "", false
	}
	p.i = end
	v := p.s[start : end-1]
	if strings.IndexByte(v, '\\') < 0 {
		return v, true
	}
	return p.unescape(v), true
}

// bytes is p.s as a byte slice, without a copy, for the validator's
// readers; nothing writes to it.
func (p *scanner) bytes() []byte {
	return unsafe.Slice(unsafe.StringData(p.s), len(p.s))
}

// unescape decodes v, the inside of a string the validator accepted, into
// a new string.
func (p *scanner) unescape(v string) string {
	b := p.esc[:0]
	for {
		k := strings.IndexByte(v, '\\')
		if k < 0 {
			b = append(b, v...)
			break
		}
		b = append(b, v[:k]...)
		e := v[k+1]
		v = v[k+2:]
		switch e {
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
			r := hex4(v)
			v = v[4:]
			if utf16.IsSurrogate(r) {
				// A pair is one character; anything else is U+FFFD and the
				// escape after it, if any, is read on its own.
				r2 := rune(-1)
				if len(v) >= 6 && v[0] == '\\' && v[1] == 'u' {
					r2 = hex4(v[2:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
					v = v[6:]
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default: // '"', '\\', '/'
			b = append(b, e)
		}
	}
	p.esc = b[:0]
	return string(b)
}

// hex4 reads the four hex digits of a \\u escape at the start of s, which
// the validator has checked.
func hex4(s string) rune {
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// number reads a number as JSON writes it and returns its text; integer
// tells that it has neither a fraction nor an exponent.
func (p *scanner) number() (raw string, integer, ok bool) {
	end := jsonline.SkipNumber(p.bytes(), p.i)
	if end < 0 {
		return "", false, false
	}
	raw, p.i = p.s[p.i:end], end
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == '.' || c == 'e' || c == 'E' {
			return raw, false, true
		}
	}
	return raw, true, true
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
	return p.depth <= jsonline.MaxDepth // the writer's limit: the lines it takes for objects are mapped as objects
}

// leave skips whitespace and reports whether the closing bracket c comes
// next, consuming it and counting one level of nesting less.
func (p *scanner) leave(c byte) bool {
	if !p.next(c) {
		return false
	}
	p.depth--
	return true
}

// object reads an object, at its opening brace, into m; of a repeated
// key the last value wins, in the place of the first.
func (p *scanner) object(m pcommon.Map) bool {
	return p.members(func(key string) bool { return p.value(m.PutEmpty(key)) })
}

// members reads an object, at its opening brace, handing each key to
// member, which reads the value that follows.
func (p *scanner) members(member func(key string) bool) bool {
	if !p.enter() {
		return false
	}
	if p.leave('}') {
		return true
	}
	for {
		p.ws()
		k, ok := p.str()
		if !ok || !p.next(':') || !member(k) {
			return false
		}
		if p.leave('}') {
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
	if p.leave(']') {
		return true
	}
	for {
		if !p.value(s.AppendEmpty()) {
			return false
		}
		if p.leave(']') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}
