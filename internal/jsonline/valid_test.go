package jsonline

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// wantObject is the verdict IsObject must give: b begins with '{' and is
// valid UTF-8 and valid JSON.
func wantObject(b []byte) bool {
	return len(b) > 0 && b[0] == '{' && utf8.Valid(b) && json.Valid(b)
}

// long takes a string past skipString's word-at-a-time start.
var long = strings.Repeat("x", shortString+3)

var validCases = []string{
	`{}`, `{ }`, "{\n}", `{"a":1}`, `{"a":01}`, `{"a":-0}`, `{"a":-}`, `{"a":1.}`, `{"a":1.5e}`, `{"a":1.5e+7}`, `{"a":1E-0}`,
	`{"a":.5}`, `{"a":+1}`, `{"a":tru}`, `{"a":true}`, `{"a":truex}`, `{"a":nul}`, `{"a":null,}`, `{"a":false}`,
	`{"a":[]}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":{"b":[{},[],"x"]}}`, `{"a":{}`, `{"a":1}}`,
	`{"a":1}{"b":2}`, `{"a" 1}`, `{"a":}`, `{,"a":1}`, `{"a":1,}`, `{1:1}`, `{"a":1]`, `{"a":[1}`,
	`{"a":"\u00e9\"\\\/\b\f\n\r\t"}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, `{"a":"\ud800"}`,
	"{\"a\":\"x\ty\"}", "{\"a\":\"x\x7fy\"}", "{\"a\":\"\xe9\"}", "{\"a\":\"\xc3\xa9\"}", "{\"a\":\"\xed\xa0\x80\"}",
	"{\"a\":\"\xf0\x9f\x98\x80 and a long tail to pass the word loop\"}", "{\"\xff\":1}", "{\"a\":1}\xff",
	`{"a":"0123456789abcdef0123456789\"abcdef"}`, `{"a":"0123456789abcdef0123456789abc`, `{"a":"01234567"}`,
	`{"a":"0123456"}`, "{\"a\":\"0123456789abcdef\x00\"}", `{"a":"0123456789abcdef\`,
	"{\"a\"\n:\r1\t,\n\"b\" : [ 1 , 2 ] }",
	// Past the word-at-a-time start of a string, and at its end.
	`{"long":"` + long + `\u00e9\"\\ \n` + long + `"}`,
	`{"long":"` + long + "\xc3\xa9 \xe2\x82\xac" + long + `"}`,
	`{"long":"` + long + "\x1f" + long + `"}`,
	`{"long":"` + long + "\xc3" + long + `"}`,
	`{"long":"` + long + `\q` + long + `"}`,
	`{"long":"` + long + `\u12` + `"}`,
	`{"long":"` + long + `\`,
	`{"long":"` + long + `\"}`,
	`{"` + long + `\u0041":1,"` + long + "\xc3\xa9" + `":2}`,
	`{"long":"` + long[:shortString-7] + `\u00e9"}`,
	`{"long":"` + long[:shortString-1] + "\xc3\xa9" + long + `"}`,
	`{"long":"` + long[:shortString-2] + `\"` + long + `\\"}`,
	`{"long":"` + long[:shortString-1] + "\x01" + `"}`,
	`{"short":"` + long[:5] + "\x01" + `"}`,
}

func TestIsObject(t *testing.T) {
	for _, c := range validCases {
		if got, want := IsObject([]byte(c)), wantObject([]byte(c)); got != want {
			t.Errorf("IsObject(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestIsObjectDepth: encoding/json's nesting limit is the validator's.
func TestIsObjectDepth(t *testing.T) {
	for _, d := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			b := []byte(`{"x":` + strings.Repeat(open, d-1) + strings.Repeat(close, d-1) + `}`)
			if got, want := IsObject(b), wantObject(b); got != want {
				t.Errorf("depth %d of %s: IsObject %v, encoding/json %v", d, open, got, want)
			}
		}
	}
}

// TestScanFlags: the newline and owned-name flags.
func TestScanFlags(t *testing.T) {
	cases := []struct {
		in        string
		multiline bool
		mayOwn    bool
	}{
		{`{"a":1}`, false, false},
		{"{\"a\":\n1}", true, false},
		{"{\"a\":\"\\n\"}", false, false},
		{`{"stream":1}`, false, true},
		{`{"a":{"stream":1}}`, false, false},
		{`{"a":"stream","b":"peer_pid"}`, false, false},
		{`{"\u0070eer_uid":0}`, false, true},
		{`{"x\"":0}`, false, true},
		{`{"a":1,"logfanin_seq":2}`, false, true},
		{`{"streams":1,"peer_pi":2}`, false, false},
	}
	for _, c := range cases {
		s := scanObject([]byte(c.in))
		if s&scanValid == 0 || (s&scanMultiline != 0) != c.multiline || (s&scanMayOwn != 0) != c.mayOwn {
			t.Errorf("scanObject(%s) = %b, want multiline %v, mayOwn %v", c.in, s, c.multiline, c.mayOwn)
		}
	}
}

// FuzzIsObject holds the validator to encoding/json's verdict: a record
// it accepts is written as it came, so it must be JSON. And a top-level
// key that decodes to a writer's name is always flagged.
func FuzzIsObject(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		in = bytes.TrimSpace(in)
		want := wantObject(in)
		s := scanObject(in)
		if got := s&scanValid != 0; got != want {
			t.Fatalf("IsObject(%q) = %v, encoding/json says %v", in, got, want)
		}
		if !want {
			return
		}
		if (s&scanMultiline != 0) != (bytes.ContainsAny(in, "\n\r")) {
			t.Fatalf("%q: multiline flag %v", in, s&scanMultiline != 0)
		}
		if s&scanMayOwn == 0 {
			names := make([]string, len(ownedFields))
			copy(names, ownedFields[:])
			if has := HasFields(in, names); has != 0 {
				t.Fatalf("%q has a writer's field (%b) but is not flagged", in, has)
			}
		}
	})
}

// BenchmarkIsObject validates a 200-byte record of the benchmark's shape
// and a 64 KiB one, in ns per byte.
func BenchmarkIsObject(b *testing.B) {
	for _, size := range []int{200, 64 << 10} {
		rec := []byte(`{"p":3,"s":123456,"n":200,"c":"1a2b3c4d","b":"` + strings.Repeat("abcdefghijklmnopqrstuvwxyz_-ABCDEFGHIJ0123456789", size/48+1)[:size-60] + `"}`)
		b.Run(strconv.Itoa(len(rec)), func(b *testing.B) {
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				if !IsObject(rec) {
					b.Fatal("invalid")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rec)), "ns/byte")
		})
	}
}
