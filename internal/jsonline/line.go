package jsonline

import (
	"bytes"
	"encoding/json"
	"slices"
)

// Kind says what Prepare made of a record.
type Kind uint8

const (
	// Object is a JSON object on one line, written as it came.
	Object Kind = iota
	// Compacted is a JSON object over several lines, compacted onto one.
	Compacted
	// Wrapped is anything else, wrapped as {"msg":"…"}.
	Wrapped
)

// MaxScratch is the largest scratch buffer a Formatter keeps between
// records; a larger record's scratch is dropped once it is emitted, so an
// idle Formatter never holds more than this.
const MaxScratch = 64 << 10

// Formatter turns records into output lines. Its scratch buffers are
// reused, so that formatting a JSON object allocates nothing. A Formatter
// is not safe for concurrent use; its zero value is ready.
type Formatter struct {
	kind    Kind
	obj     []byte // Object, Compacted: the object (trimmed)
	prefix  []byte // Wrapped: fields before "msg", each followed by ','
	tail    []byte // fields added at the end, each preceded by ','
	empty   bool   // the object is {} and there is a tail
	compact bytes.Buffer
	text    []byte // Wrapped: the text to escape as "msg"
	owned   []byte // scratch: the nulls for writer's fields a sender wrote, then tail
}

// Release drops the scratch memory of a large record and the references
// to the last record. Emit calls it; call it after a Prepare whose line is
// not emitted.
func (f *Formatter) Release() {
	if f.compact.Cap() > MaxScratch {
		f.compact = bytes.Buffer{}
	}
	if cap(f.owned) > MaxScratch {
		f.owned = nil
	}
	f.obj, f.text, f.tail, f.prefix = nil, nil, nil, nil
}

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

// emptyObject reports whether the object obj has no members.
func emptyObject(obj []byte) bool {
	return len(trimJSONSpace(obj[1:len(obj)-1])) == 0
}

// Prepare classifies rec and returns the length of its output line. wrap
// holds the fields to put before "msg" if rec has to be wrapped, each
// followed by ','; tail the fields to add at the end, each preceded by
// ','. The line is then appended by Emit, before the next call to
// Prepare. rec, wrap and tail must stay unchanged until then. A record
// that must be wrapped whatever it holds (syslog text) is passed with
// forceWrap.
func (f *Formatter) Prepare(rec, wrap, tail []byte, forceWrap bool) int {
	f.tail = tail
	if !forceWrap {
		obj := trimJSONSpace(rec)
		if n, ok := f.prepareObject(obj, scanObject(obj)); ok {
			return n
		}
	}
	return f.prepareWrapped(rec, wrap)
}

// Scan is what the validator found in an object: see ScanObject.
type Scan int

// ScanObject reads obj, with no whitespace around it, as IsObject does,
// and returns what it found, for PrepareScanned: a caller that must know
// whether a record is an object before it can say what to add to it reads
// the record once.
func ScanObject(obj []byte) Scan { return Scan(scanObject(obj)) }

// ScanRecord is ScanObject for a record as received: it drops the JSON
// whitespace around rec and returns what is left and its scan. A caller
// that adds fields only to text (a line's time) builds them only when the
// scan is not Valid, and hands the record to Prepare with forceWrap.
func ScanRecord(rec []byte) ([]byte, Scan) {
	obj := trimJSONSpace(rec)
	return obj, ScanObject(obj)
}

// BuiltObject is the Scan of an object its caller built itself: one
// valid JSON object in valid UTF-8, on one line, whose top-level keys may
// be one of the writer's names only if mayOwn (KeyMayOwn of each). It is
// what ScanObject would find, without reading the object; the caller
// answers for it.
func BuiltObject(mayOwn bool) Scan {
	if mayOwn {
		return scanValid | scanMayOwn
	}
	return scanValid
}

// KeyMayOwn reports whether key, a top-level key as it is spelled between
// its quotes, may be one of the names the writer owns: it is one, or it is
// spelled with escapes (which PrepareScanned then decodes).
func KeyMayOwn(key []byte) bool {
	return isOwned(key) || bytes.IndexByte(key, '\\') >= 0
}

// Valid reports whether the object scanned is one valid JSON object in
// valid UTF-8: IsObject's verdict.
func (s Scan) Valid() bool { return s&scanValid != 0 }

// PrepareScanned is Prepare for obj, an object that ScanObject found
// Valid, whose scan is given: obj is not read again to be validated. An
// invalid scan has obj wrapped as text, with no fields before "msg".
func (f *Formatter) PrepareScanned(obj []byte, scan Scan, tail []byte) int {
	f.tail = tail
	if n, ok := f.prepareObject(obj, int(scan)); ok {
		return n
	}
	return f.prepareWrapped(obj, nil)
}

// prepareObject prepares obj, whose scan flags are scan, as an object
// line, compacting it if it spans lines; false if it is not one valid
// object.
func (f *Formatter) prepareObject(obj []byte, scan int) (int, bool) {
	kind := Object
	if scan&(scanValid|scanMultiline) == scanValid|scanMultiline {
		// Compacted, the object is read again for its keys: rare.
		f.compact.Reset()
		scan = 0
		if json.Compact(&f.compact, obj) == nil {
			obj, kind = f.compact.Bytes(), Compacted
			scan = scanObject(obj)
		}
	}
	if scan&(scanValid|scanMultiline) != scanValid {
		return 0, false
	}
	f.kind, f.obj = kind, obj
	if scan&scanMayOwn != 0 {
		f.claimOwned()
	}
	f.empty = len(f.tail) > 0 && emptyObject(obj)
	return f.jsonLen(), true
}

// prepareWrapped prepares rec as the "msg" of a wrapped line, after the
// fields wrap.
func (f *Formatter) prepareWrapped(rec, wrap []byte) int {
	f.kind, f.prefix = Wrapped, wrap
	f.text = bytes.TrimSuffix(rec, []byte("\n"))
	return len(`{`) + len(wrap) + len(`"msg":"`) + StringLen(f.text) + len(`"`) + len(f.tail) + len("}\n")
}

// Kind returns what the last Prepare made of its record.
func (f *Formatter) Kind() Kind { return f.kind }

func (f *Formatter) jsonLen() int {
	if f.empty {
		return len("{") + len(f.tail) - 1 + len("}\n")
	}
	return len(f.obj) + len(f.tail) + 1
}

// Emit appends the line prepared by Prepare to dst, newline included.
func (f *Formatter) Emit(dst []byte) []byte {
	if f.kind == Wrapped {
		dst = append(dst, '{')
		dst = append(dst, f.prefix...)
		dst = append(dst, `"msg":"`...)
		dst = AppendString(dst, f.text)
		dst = append(dst, '"')
		dst = append(dst, f.tail...)
		dst = append(dst, "}\n"...)
		f.Release()
		return dst
	}
	dst = append(dst, f.obj[:len(f.obj)-1]...)
	if f.empty {
		dst = append(dst[:len(dst)-(len(f.obj)-2)], f.tail[1:]...) // drop inner whitespace and the comma
	} else {
		dst = append(dst, f.tail...)
	}
	dst = append(dst, "}\n"...)
	f.Release()
	return dst
}

// AppendLine appends the line for rec, with no fields added, to dst: the
// line the writer writes for rec when it adds none of its own.
func (f *Formatter) AppendLine(dst, rec []byte) []byte {
	n := f.Prepare(rec, nil, nil, false)
	return f.Emit(slices.Grow(dst, n))
}
