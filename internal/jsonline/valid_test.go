package jsonline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// wantObject is the verdict IsObject must give: b begins with '{' and is
// valid UTF-8 and valid JSON.
func wantObject(b []byte) bool {
	return len(b) > 0 && b[0] == '{' && utf8.Valid(b) && json.Valid(b)
}

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
	// Past the byte-by-byte start of a string.
	`{"long":"` + strings.Repeat("x", 40) + `\u00e9\"\\ \n` + strings.Repeat("y", 40) + `"}`,
	`{"long":"` + strings.Repeat("x", 40) + "\xc3\xa9 \xe2\x82\xac" + strings.Repeat("y", 40) + `"}`,
	`{"long":"` + strings.Repeat("x", 40) + "\x1f" + strings.Repeat("y", 40) + `"}`,
	`{"long":"` + strings.Repeat("x", 40) + "\xc3" + strings.Repeat("y", 40) + `"}`,
	`{"long":"` + strings.Repeat("x", 40) + `\q` + strings.Repeat("y", 40) + `"}`,
	`{"long":"` + strings.Repeat("x", 40) + `\u12` + `"}`,
	`{"long":"` + strings.Repeat("x", 40) + `\`,
	`{"long":"` + strings.Repeat("x", 40) + `\"}`,
	`{"` + strings.Repeat("k", 40) + `\u0041":1,"` + strings.Repeat("k", 40) + "\xc3\xa9" + `":2}`,
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
	for _, d := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
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

// BenchmarkIsObject validates a 64 KiB record, in ns per byte.
func BenchmarkIsObject(b *testing.B) {
	rec := []byte(`{"level":"info","msg":"x","b":"` + strings.Repeat("abcdefghijklmnopqrstuvwxyz_-ABCDEFGHIJ0123456789", 1365) + `"}`)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if !IsObject(rec) {
			b.Fatal("invalid")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rec)), "ns/byte")
}

// TestIsOwned: the validator's quick test knows every writer's name.
func TestIsOwned(t *testing.T) {
	for _, o := range ownedFields {
		if !isOwned([]byte(o)) {
			t.Errorf("isOwned(%s) is false", o)
		}
		if isOwned([]byte(o[1:])) || isOwned([]byte(o+"x")) {
			t.Errorf("isOwned takes a name near %s", o)
		}
	}
}
