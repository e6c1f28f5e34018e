package pyrecord

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// TestPythonGolden: for records made by the Python client's own code
// (testdata/gen.py), AppendJSON writes byte for byte what the client's
// JSON formatting writes.
func TestPythonGolden(t *testing.T) {
	f, err := os.Open("testdata/records.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		h, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("line %d: no tab", n+1)
		}
		rec, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		got, scan, err := AppendJSON([]byte("prefix"), rec)
		if err != nil {
			t.Fatalf("record %d: %v", n+1, err)
		}
		if scan != jsonline.ScanObject(got[6:]) {
			t.Fatalf("record %d: scan %v, ScanObject %v", n+1, scan, jsonline.ScanObject(got[6:]))
		}
		if string(got[6:]) != want || string(got[:6]) != "prefix" {
			t.Fatalf("record %d:\n got %s\nwant %s", n+1, got, want)
		}
		if !json.Valid(got[6:]) {
			t.Fatalf("record %d: not JSON: %s", n+1, got[6:])
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d records", n)
	}
}

// enc builds marshal (version 2) encodings for the tests.
type enc struct{ b []byte }

func (e *enc) tuple(n int) *enc { e.b = append(e.b, '('); return e.u32(uint32(n)) }
func (e *enc) u32(v uint32) *enc {
	e.b = binary.LittleEndian.AppendUint32(e.b, v)
	return e
}
func (e *enc) float(f float64) *enc {
	e.b = append(e.b, 'g')
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(f))
	return e
}
func (e *enc) str(s string) *enc {
	e.b = append(e.b, 'u')
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
	return e
}
func (e *enc) int(v int32) *enc { e.b = append(e.b, 'i'); return e.u32(uint32(v)) }
func (e *enc) raw(b ...byte) *enc {
	e.b = append(e.b, b...)
	return e
}

// head is a record up to its extra fields' dict.
func head() *enc {
	return new(enc).tuple(7).float(1795967857.5).str("info").str("app").str("hi").int(42).str("MainThread")
}

func TestAppendJSON(t *testing.T) {
	long := func(n int) uint32 { return uint32(n) }
	tests := []struct {
		name string
		rec  []byte
		want string
	}{
		{"no extra fields", head().raw('{', '0').b,
			`{"ts":1795967857.500000,"level":"info","logger":"app","msg":"hi","pid":42,"thread":"MainThread"}`},
		{"every kind of value", head().raw('{').str("s").str("a\"b\\c\n\x01\x7fé😀").str("i").int(-7).
			str("f").float(0.1).str("t").raw('T').str("n").raw('N').
			str("big").raw('l').u32(long(-5)).raw(1, 0, 0, 0, 0, 0, 0, 0, 8, 0).raw('0').b,
			`{"ts":1795967857.500000,"level":"info","logger":"app","msg":"hi","pid":42,"thread":"MainThread",` +
				`"s":"a\"b\\c\n\u0001\u007f\u00e9\ud83d\ude00","i":-7,"f":0.1,"t":true,"n":null,"big":-9223372036854775809}`},
		{"pid and thread None", new(enc).tuple(7).float(2.25).str("warn").str("").str("").raw('N', 'N', '{', '0').b,
			`{"ts":2.250000,"level":"warn","logger":"","msg":"","pid":null,"thread":null}`},
		{"interned strings", new(enc).tuple(7).float(1).raw('t').u32(1).raw('x').str("a").str("b").int(1).raw('N', '{', 't').u32(1).raw('k', 'F', '0').b,
			`{"ts":1.000000,"level":"x","logger":"a","msg":"b","pid":1,"thread":null,"k":false}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := AppendJSON(nil, tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("not JSON")
			}
		})
	}
}

// TestAppendJSONRefuses: what a lying or broken client may send is an
// error, never a panic or text that is not JSON, and dst comes back as
// it was.
func TestAppendJSONRefuses(t *testing.T) {
	good := head().raw('{').str("k").int(1).raw('0').b
	tests := []struct {
		name string
		rec  []byte
	}{
		{"empty", nil},
		{"a JSON object", []byte(`{"msg":"hi"}`)},
		{"a tuple of 6", new(enc).tuple(6).b},
		{"ts not a float", new(enc).tuple(7).int(1).b},
		{"level an int", new(enc).tuple(7).float(1).int(1).b},
		{"logger None", new(enc).tuple(7).float(1).str("a").raw('N').b},
		{"pid a str", new(enc).tuple(7).float(1).str("a").str("b").str("c").str("d").b},
		{"thread an int", new(enc).tuple(7).float(1).str("a").str("b").str("c").int(1).int(2).b},
		{"extra a list", head().raw('[').u32(0).b},
		{"extra key an int", head().raw('{').int(1).int(1).raw('0').b},
		{"extra value a tuple", head().raw('{').str("k").tuple(0).raw('0').b},
		{"extra value bytes", head().raw('{').str("k").raw('s').u32(1).raw('x', '0').b},
		{"a flagged reference", head().raw('{').str("k").raw('r').u32(0).raw('0').b},
		{"an int of six digits", head().raw('{').str("k").raw('l').u32(6).raw(make([]byte, 12)...).raw('0').b},
		{"an int over 64 bits", head().raw('{').str("k").raw('l').u32(5).raw(0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f).raw('0').b},
		{"a digit over 15 bits", head().raw('{').str("k").raw('l').u32(1).raw(0xff, 0xff).raw('0').b},
		{"a str longer than the record", head().raw('{').str("k").raw('u').u32(1 << 31).b},
		{"a str not UTF-8", head().raw('{').str("k").str("a\xffb").raw('0').b},
		{"an overlong UTF-8", head().raw('{').str("k").str("\xc0\x80").raw('0').b},
		{"UTF-8 past U+10FFFF", head().raw('{').str("k").str("\xf4\x90\x80\x80").raw('0').b},
		{"a cut-off UTF-8", head().raw('{').str("k").str("\xe2\x82").raw('0').b},
		{"no end of the dict", good[:len(good)-1]},
		{"bytes after the tuple", append(append([]byte{}, good...), 'N')},
		{"cut short", good[:20]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("kept")
			got, _, err := AppendJSON(dst, tc.rec)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v, want a *FormatError; got %q", err, got)
			}
			if string(got) != "kept" {
				t.Errorf("dst %q", got)
			}
			if !strings.HasPrefix(fe.Error(), "python record: ") {
				t.Errorf("error %q", fe)
			}
		})
	}
	if _, _, err := AppendJSON(nil, good); err != nil {
		t.Fatalf("the good record: %v", err)
	}
}

// TestAppendJSONScan: the scan AppendJSON returns is ScanObject's, and
// says an extra field may be one of the writer's names when one is, or
// when its name is spelled with escapes.
func TestAppendJSONScan(t *testing.T) {
	for _, tc := range []struct {
		key    string
		mayOwn bool
	}{{"user", false}, {"peer_pid", true}, {"logfanin_seq", true}, {"pëer", true}, {"level", false}} {
		rec := head().raw('{').str(tc.key).int(1).raw('0').b
		got, scan, err := AppendJSON(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		if scan != jsonline.ScanObject(got) || scan != jsonline.BuiltObject(tc.mayOwn) {
			t.Errorf("%s: scan %v, ScanObject %v, want mayOwn %v", tc.key, scan, jsonline.ScanObject(got), tc.mayOwn)
		}
	}
}

func TestAppendTime(t *testing.T) {
	for _, tc := range []struct {
		ts   float64
		want string
	}{
		{0, "0.000000"},
		{1795967857.008942, "1795967857.008941"}, // truncated, as the client does
		{1795967857.000001, "1795967857.000000"},
		{1e10 - 0.5, "9999999999.500000"},
		{1e10, "10000000000.0"},
		{-1.5, "-1.5"},
		{math.Inf(1), `"inf"`},
		{math.NaN(), `"nan"`},
	} {
		if got := string(appendTime(nil, tc.ts)); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.ts, got, tc.want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{123456789012345678, "1.2345678901234568e+17"},
		{1e-4, "0.0001"},
		{1e-5, "1e-05"},
		{1.5e-7, "1.5e-07"},
		{0.1, "0.1"},
		{5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{-12345.678, "-12345.678"},
		{math.Inf(-1), `"-inf"`},
	} {
		if got := string(appendFloat(nil, tc.f)); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.f, got, tc.want)
		}
	}
}

// TestAppendStringLong: the word-at-a-time scan stops at each byte that
// needs escaping, wherever it falls in a word.
func TestAppendStringLong(t *testing.T) {
	for _, c := range []byte{'"', '\\', 0, '\n', 0x1f, 0x7f} {
		for pos := range 40 {
			s := bytes.Repeat([]byte{'a'}, 40)
			s[pos] = c
			got, bad := appendString(nil, s)
			if bad != -1 {
				t.Fatalf("bad %d", bad)
			}
			var back string
			if err := json.Unmarshal(got, &back); err != nil || back != string(s) {
				t.Fatalf("%q at %d: %s (%v)", c, pos, got, err)
			}
			if bytes.Count(got, []byte{'\\'}) == 0 {
				t.Fatalf("%q at %d not escaped: %s", c, pos, got)
			}
		}
	}
}
