package writer

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
	"unsafe"

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
//   - The writer's field names (ownedFields) are the writer's on every
//     input: a top-level field of one of those names that the writer has
//     no value for on this input (a "peer_uid" sent down the shared pipe,
//     a "logfanin_sid" on a connection without acknowledgements) gets
//     "name":null at the end, so a last-wins reader never sees a value a
//     client chose for it.

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
	owned   []byte // scratch: the nulls for writer's fields a sender wrote, then tail
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
	if cap(f.owned) > maxScratch {
		f.owned = nil
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
					f.claimOwned()
					f.empty = len(f.tail) > 0 && emptyObject(f.obj)
					return f.jsonLen()
				}
			} else {
				f.kind, f.obj = kindJSON, obj
				f.claimOwned()
				f.empty = len(f.tail) > 0 && emptyObject(obj)
				return f.jsonLen()
			}
		}
	}
	f.kind, f.prefix = kindWrap, wrap
	f.text = bytes.TrimSuffix(rec, []byte("\n"))
	return len(`{`) + len(wrap) + len(`"msg":"`) + jsonStringLen(f.text) + len(`"`) + len(tail) + len("}\n")
}

// ownedFields are the names of the fields the writer adds. Every one is
// the writer's on every input (see claimOwned), and DESIGN and the README
// say so: a sender can't use them for fields of its own.
var ownedFields = [...]string{
	"peer_pid", "peer_uid", "peer_gid",
	"pipe_pid",
	"logfanin_sid", "logfanin_seq",
	"stream",
}

// mayNameOwned reports whether obj might have a top-level field named in
// ownedFields. It is a quick filter over the bytes, a superset of the
// records that have one: every owned name written plainly as a key is
// "stream" or has '_' followed by pid, uid, gid, sid or seq and the key's
// closing quote, and a name spelled with escapes (\u0070eer_uid) contains
// `\u`, the only way to escape a letter or '_'. It looks only at the
// occurrences of three bytes that are rare in records, found with
// IndexByte: the common record pays a few vector scans, not a parse.
func mayNameOwned(obj []byte) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(obj[i:], '_')
		if j < 0 {
			break
		}
		i += j
		if r := obj[i+1:]; len(r) >= 4 && r[3] == '"' &&
			(r[1] == 'i' && r[2] == 'd' && (r[0] == 'p' || r[0] == 'u' || r[0] == 'g' || r[0] == 's') ||
				r[0] == 's' && r[1] == 'e' && r[2] == 'q') {
			return true
		}
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(obj[i:], 'm')
		if j < 0 {
			break
		}
		i += j
		if i >= 5 && i+1 < len(obj) && obj[i+1] == '"' && string(obj[i-5:i]) == "strea" {
			return true
		}
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(obj[i:], '\\')
		if j < 0 {
			return false
		}
		i += j
		if i+1 < len(obj) && obj[i+1] == 'u' {
			return true
		}
	}
}

// claimOwned makes f.tail end with "name":null for every owned field that
// the object f.obj has at its top level and the tail does not set.
func (f *formatter) claimOwned() {
	if !mayNameOwned(f.obj) {
		return
	}
	f.owned = f.owned[:0]
	// The object is valid JSON (isObject or json.Compact said so), and
	// gjson keeps no reference to it.
	gjson.Parse(unsafe.String(&f.obj[0], len(f.obj))).ForEach(func(key, _ gjson.Result) bool {
		name := key.String()
		for _, o := range ownedFields {
			if name == o && !setsField(f.tail, o) && !setsField(f.owned, o) {
				f.owned = append(f.owned, ',', '"')
				f.owned = append(f.owned, o...)
				f.owned = append(f.owned, `":null`...)
			}
		}
		return true
	})
	if len(f.owned) > 0 {
		f.owned = append(f.owned, f.tail...)
		f.tail = f.owned
	}
}

// setsField reports whether the writer's fields in tail set name.
func setsField(tail []byte, name string) bool {
	for i := 0; ; {
		j := bytes.Index(tail[i:], []byte(name))
		if j < 0 {
			return false
		}
		i += j
		if i >= 2 && tail[i-2] == ',' && tail[i-1] == '"' && len(tail) > i+len(name)+1 &&
			tail[i+len(name)] == '"' && tail[i+len(name)+1] == ':' {
			return true
		}
		i++
	}
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
