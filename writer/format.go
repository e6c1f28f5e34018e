package writer

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Output format
//
// Every record becomes exactly one line of JSON:
//   - A record that is a JSON object is written as it came, minus a trailing
//     newline and surrounding whitespace; one spread over several lines
//     (pretty-printed) is compacted onto one.
//   - Anything else (text, invalid JSON, invalid UTF-8, NUL bytes) is
//     wrapped as {"msg":"…"}, escaped so the line is valid JSON; invalid
//     UTF-8 bytes become U+FFFD.
//   - Fields the writer adds (peer credentials, ack session and sequence)
//     go at the end of the object, just before the final "}", so that a
//     JSON reader that keeps the last of duplicate keys sees the writer's
//     values rather than any the sender wrote.

// formatter turns records into output lines. Each reader owns one; its
// scratch buffers are reused so that formatting a JSON object allocates
// nothing.
type formatter struct {
	kind    int
	obj     []byte // kindJSON: the object as it came (trimmed)
	prefix  []byte // kindWrap: fields before "msg", each followed by ','
	tail    []byte // fields added at the end, each preceded by ','
	empty   bool   // the object is {}
	compact bytes.Buffer
	text    []byte // kindWrap: the text to escape as "msg"
}

// maxScratch is the largest scratch buffer a formatter keeps between
// records; a larger record's scratch is dropped once it is emitted, so an
// idle connection never holds more than this.
const maxScratch = 64 << 10

// release drops the scratch memory of a large record.
func (f *formatter) release() {
	if f.compact.Cap() > maxScratch {
		f.compact = bytes.Buffer{}
	}
	f.obj, f.text, f.tail, f.prefix = nil, nil, nil, nil
}

const (
	kindJSON = iota
	kindCompact
	kindWrap
)

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// isObject reports whether b, trimmed, is one valid JSON object in valid
// UTF-8. gjson's validator agrees with encoding/json.Valid (FuzzFormat
// checks every output line with encoding/json) at a third of its cost,
// which is most of the writer's own time per record.
func isObject(b []byte) bool {
	return len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' && utf8.Valid(b) && gjson.ValidBytes(b)
}

// emptyObject reports whether the object obj has no members.
func emptyObject(obj []byte) bool {
	return len(trimJSONSpace(obj[1:len(obj)-1])) == 0
}

// prepare classifies rec and returns the length of its output line. wrap
// holds the fields to put before "msg" if rec has to be wrapped; tail the
// fields to add at the end. The line is then appended by emit, before the
// next call to prepare. rec, wrap and tail must stay unchanged until then.
// A record that wrap must be used for (syslog text) is passed with
// forceWrap.
func (f *formatter) prepare(rec, wrap, tail []byte, forceWrap bool) int {
	f.tail = tail
	if !forceWrap {
		obj := trimJSONSpace(rec)
		if isObject(obj) {
			if bytes.IndexByte(obj, '\n') >= 0 || bytes.IndexByte(obj, '\r') >= 0 {
				f.compact.Reset()
				if json.Compact(&f.compact, obj) == nil {
					f.kind, f.obj = kindCompact, f.compact.Bytes()
					f.empty = len(tail) > 0 && emptyObject(f.obj)
					return f.jsonLen()
				}
			} else {
				f.kind, f.obj = kindJSON, obj
				f.empty = len(tail) > 0 && emptyObject(obj)
				return f.jsonLen()
			}
		}
	}
	f.kind, f.prefix = kindWrap, wrap
	f.text = bytes.TrimSuffix(rec, []byte("\n"))
	return len(`{`) + len(wrap) + len(`"msg":"`) + jsonStringLen(f.text) + len(`"`) + len(tail) + len("}\n")
}

func (f *formatter) jsonLen() int {
	if f.empty {
		return len("{") + len(f.tail) - 1 + len("}\n")
	}
	return len(f.obj) + len(f.tail) + 1
}

// emit appends the line prepared by prepare to dst.
func (f *formatter) emit(dst []byte) []byte {
	if f.kind == kindWrap {
		dst = append(dst, '{')
		dst = append(dst, f.prefix...)
		dst = append(dst, `"msg":"`...)
		dst = appendJSONString(dst, f.text)
		dst = append(dst, '"')
		dst = append(dst, f.tail...)
		dst = append(dst, "}\n"...)
		f.release()
		return dst
	}
	dst = append(dst, f.obj[:len(f.obj)-1]...)
	if f.empty {
		dst = append(dst[:len(dst)-(len(f.obj)-2)], f.tail[1:]...) // drop inner whitespace and the comma
	} else {
		dst = append(dst, f.tail...)
	}
	dst = append(dst, "}\n"...)
	f.release()
	return dst
}

// jsonStringLen is the length of appendJSONString(nil, s), computed
// without building it, so that escaping a record needs no scratch copy.
func jsonStringLen(s []byte) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != '"' && c != '\\':
				n++
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			default:
				n += 6 // \u00XX
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 6 // \ufffd
		} else {
			n += size
		}
		i += size
	}
	return n
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s to dst escaped as the inside of a JSON string.
// Invalid UTF-8 becomes U+FFFD, so the result is always valid JSON.
func appendJSONString(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendStringField appends ,"name":"value" (value escaped).
func appendStringField(dst []byte, name string, value []byte) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, `":"`...)
	dst = appendJSONString(dst, value)
	return append(dst, '"')
}
