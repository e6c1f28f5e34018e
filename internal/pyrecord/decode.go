package pyrecord

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// Magic is how a Python record starts: marshal's code for a tuple ('(')
// and its length, 7, as a little-endian uint32. No JSON text starts with
// '(', so a record that does is not a JSON object either way.
var Magic = [5]byte{'(', 7, 0, 0, 0}

// IsRecord reports whether rec starts as a Python record does.
func IsRecord(rec []byte) bool {
	return len(rec) >= len(Magic) && [5]byte(rec[:5]) == Magic
}

// marshal's type codes (Python/marshal.c) that a record may hold.
const (
	typeNone     = 'N'
	typeFalse    = 'F'
	typeTrue     = 'T'
	typeInt      = 'i' // int32, little-endian
	typeLong     = 'l' // int32 digit count (its sign is the number's), then 15-bit digits, least significant first
	typeFloat    = 'g' // float64, little-endian
	typeUnicode  = 'u' // uint32 length, then UTF-8 (surrogates allowed)
	typeInterned = 't' // an interned str, the same as typeUnicode
	typeDict     = '{' // key, value, … then typeNull
	typeNull     = '0'
)

// maxLongDigits is the most 15-bit digits an int may have: the client
// sends marshal only for ints of magnitude below 2**64.
const maxLongDigits = 5

// A FormatError says why a record is not a Python record this package
// can turn into JSON.
type FormatError struct {
	Offset int // where in the record
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("python record: at byte %d: %s", e.Offset, e.Reason)
}

// fields are the tuple's items after ts: the JSON name, and the kinds of
// value each may be (a str, an int, None).
var fields = [...]struct {
	name           string
	str, num, none bool
}{
	{`,"level":`, true, false, false},
	{`,"logger":`, true, false, false},
	{`,"msg":`, true, false, false},
	{`,"pid":`, false, true, true},
	{`,"thread":`, true, false, true},
}

// AppendJSON appends to dst the JSON object for the Python record rec
// (which starts with Magic): the fields ts, level, logger, msg, pid and
// thread, then the extra fields in their order. It returns the object's
// jsonline.Scan, so that the writer need not read it again. On error it
// returns dst with nothing appended (in a larger array if it grew one).
//
// The tuple is (ts, level, logger, msg, pid, thread, extra): ts a float,
// level, logger and msg strings, pid an int or None, thread a string or
// None, extra a dict of string keys and values that are strings, ints,
// floats, bools or None.
func AppendJSON(dst, rec []byte) ([]byte, jsonline.Scan, error) {
	if !IsRecord(rec) {
		return dst, 0, &FormatError{0, "not a 7-tuple"}
	}
	d := decoder{b: rec, i: len(Magic)}
	out, err := d.record(dst)
	if err == nil && d.i != len(rec) {
		err = d.errorf("%d bytes after the tuple", len(rec)-d.i)
	}
	if err != nil {
		// What was appended is dropped, in the array it was appended to:
		// a caller that reuses dst keeps what it grew.
		return out[:len(dst)], 0, err
	}
	return out, jsonline.BuiltObject(d.mayOwn), nil
}

type decoder struct {
	b      []byte
	i      int
	mayOwn bool // an extra field's name may be one the writer owns
}

func (d *decoder) errorf(format string, args ...any) error {
	return &FormatError{d.i, fmt.Sprintf(format, args...)}
}

const short = "the record ends early"

func (d *decoder) record(dst []byte) ([]byte, error) {
	t, err := d.typ()
	if err != nil {
		return dst, err
	}
	if t != typeFloat {
		return dst, d.errorf("ts: type %q, want a float", t)
	}
	f, err := d.float()
	if err != nil {
		return dst, err
	}
	dst = append(dst, `{"ts":`...)
	dst = appendTime(dst, f)
	for _, fd := range fields {
		dst = append(dst, fd.name...)
		if dst, err = d.core(dst, fd.name, fd.str, fd.num, fd.none); err != nil {
			return dst, err
		}
	}
	t, err = d.typ()
	if err != nil {
		return dst, err
	}
	if t != typeDict {
		return dst, d.errorf("extra fields: type %q, want a dict", t)
	}
	for {
		t, err := d.typ()
		if err != nil {
			return dst, err
		}
		if t == typeNull {
			return append(dst, '}'), nil
		}
		if t != typeUnicode && t != typeInterned {
			return dst, d.errorf("extra field name: type %q, want a str", t)
		}
		dst = append(dst, ',')
		k := len(dst)
		if dst, err = d.str(dst); err != nil {
			return dst, err
		}
		d.mayOwn = d.mayOwn || jsonline.KeyMayOwn(dst[k+1:len(dst)-1])
		dst = append(dst, ':')
		if dst, err = d.value(dst); err != nil {
			return dst, err
		}
	}
}

// core appends the value of one of the fields before the extra ones, which
// may be of the kinds given.
func (d *decoder) core(dst []byte, name string, str, num, none bool) ([]byte, error) {
	t, err := d.typ()
	if err != nil {
		return dst, err
	}
	switch {
	case str && (t == typeUnicode || t == typeInterned):
		return d.str(dst)
	case num && (t == typeInt || t == typeLong):
		return d.int(dst, t)
	case none && t == typeNone:
		return append(dst, "null"...), nil
	}
	d.i--
	return dst, d.errorf("%s a value of type %q", name[1:], t)
}

// value appends the JSON of an extra field's value.
func (d *decoder) value(dst []byte) ([]byte, error) {
	t, err := d.typ()
	if err != nil {
		return dst, err
	}
	switch t {
	case typeNone:
		return append(dst, "null"...), nil
	case typeTrue:
		return append(dst, "true"...), nil
	case typeFalse:
		return append(dst, "false"...), nil
	case typeInt, typeLong:
		return d.int(dst, t)
	case typeFloat:
		f, err := d.float()
		if err != nil {
			return dst, err
		}
		return appendFloat(dst, f), nil
	case typeUnicode, typeInterned:
		return d.str(dst)
	}
	d.i--
	return dst, d.errorf("value of type %q", t)
}

// typ reads a type code. marshal's FLAG_REF (0x80) never appears in
// format version 2, so it is not a type code here either.
func (d *decoder) typ() (byte, error) {
	if d.i >= len(d.b) {
		return 0, &FormatError{d.i, short}
	}
	t := d.b[d.i]
	d.i++
	return t, nil
}

func (d *decoder) uint32() (uint32, error) {
	if len(d.b)-d.i < 4 {
		return 0, &FormatError{d.i, short}
	}
	v := binary.LittleEndian.Uint32(d.b[d.i:])
	d.i += 4
	return v, nil
}

func (d *decoder) float() (float64, error) {
	if len(d.b)-d.i < 8 {
		return 0, &FormatError{d.i, short}
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.i:]))
	d.i += 8
	return f, nil
}

// str appends a str as a JSON string.
func (d *decoder) str(dst []byte) ([]byte, error) {
	n, err := d.uint32()
	if err != nil {
		return dst, err
	}
	if uint64(n) > uint64(len(d.b)-d.i) {
		return dst, d.errorf("a str of %d bytes, %d left", n, len(d.b)-d.i)
	}
	s := d.b[d.i : d.i+int(n)]
	out, bad := appendString(dst, s)
	if bad >= 0 {
		d.i += bad
		return dst, d.errorf("a str that is not UTF-8")
	}
	d.i += int(n)
	return out, nil
}

// int appends an int in decimal.
func (d *decoder) int(dst []byte, t byte) ([]byte, error) {
	v, err := d.uint32()
	if err != nil {
		return dst, err
	}
	if t == typeInt {
		return strconv.AppendInt(dst, int64(int32(v)), 10), nil
	}
	n := int64(int32(v))
	neg := n < 0
	if neg {
		n = -n
	}
	if n > maxLongDigits {
		return dst, d.errorf("an int of %d 15-bit digits, at most %d", n, maxLongDigits)
	}
	if int64(len(d.b)-d.i) < 2*n {
		return dst, &FormatError{d.i, short}
	}
	var m uint64
	for k := n - 1; k >= 0; k-- {
		digit := uint64(binary.LittleEndian.Uint16(d.b[d.i+2*int(k):]))
		if digit >= 1<<15 || m > (math.MaxUint64-digit)>>15 {
			return dst, d.errorf("a malformed int")
		}
		m = m<<15 | digit
	}
	d.i += 2 * int(n)
	if neg {
		dst = append(dst, '-')
	}
	return strconv.AppendUint(dst, m, 10), nil
}
