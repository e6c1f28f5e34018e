package jsonline

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestFormat(t *testing.T) {
	tail := []byte(`,"peer_pid":7`)
	cases := []struct{ in, tail, want string }{
		{`{"a":1}` + "\n", "", `{"a":1}`},
		{`  {"a":1}  ` + "\n", "", `{"a":1}`},
		{`{"a":1}`, string(tail), `{"a":1,"peer_pid":7}`},
		{`{}`, string(tail), `{"peer_pid":7}`},
		{`{ }`, string(tail), `{"peer_pid":7}`},
		{"{\n \"a\": [1,\n 2]\n}\n", string(tail), `{"a":[1,2],"peer_pid":7}`},
		{"{\n}", string(tail), `{"peer_pid":7}`},
		{"text\n", string(tail), `{"msg":"text","peer_pid":7}`},
		{"text\n\n", "", `{"msg":"text\n"}`},
		{"\"q\" \\ \t\x01\x7f é \xff", "", `{"msg":"\"q\" \\ \t\u0001` + "\x7f é \\ufffd\"}"},
		{`{"a":"\u0000"}`, "", `{"a":"\u0000"}`},
		{"{\"a\":\"x\ty\"}", "", `{"msg":"{\"a\":\"x\ty\"}"}`},
	}
	for _, tc := range cases {
		var f Formatter
		n := f.Prepare([]byte(tc.in), nil, []byte(tc.tail), false)
		got := f.Emit(nil)
		if string(got) != tc.want+"\n" {
			t.Errorf("%q: got %s want %s", tc.in, got, tc.want)
		}
		if n != len(got) {
			t.Errorf("%q: prepared %d, emitted %d", tc.in, n, len(got))
		}
		if !json.Valid(got) {
			t.Errorf("%q: invalid JSON %s", tc.in, got)
		}
	}
}

// TestFormatOwnedFields: a top-level field with a writer's name that the
// writer sets nothing for on the input gets null after it, however the
// name is spelled; the writer's own values stay last; nested fields and
// values that merely contain the names are left alone.
func TestFormatOwnedFields(t *testing.T) {
	cases := []struct{ in, tail, want string }{
		{`{"peer_uid":0}`, "", `{"peer_uid":0,"peer_uid":null}`},
		{`{"peer_uid":0}`, `,"peer_uid":7`, `{"peer_uid":0,"peer_uid":7}`},
		{`{"\u0070eer_uid":0}`, "", `{"\u0070eer_uid":0,"peer_uid":null}`},
		{"{\n\"stream\": \"x\"}", `,"pipe_pid":3`, `{"stream":"x","stream":null,"pipe_pid":3}`},
		{`{"logfanin_sid":"a","logfanin_seq":1,"pipe_pid":2,"peer_pid":1,"peer_gid":0,"a":1}`, `,"stream":"stdout"`,
			`{"logfanin_sid":"a","logfanin_seq":1,"pipe_pid":2,"peer_pid":1,"peer_gid":0,"a":1,"logfanin_sid":null,"logfanin_seq":null,"pipe_pid":null,"peer_pid":null,"peer_gid":null,"stream":"stdout"}`},
		{`{"stream":1,"stream":2}`, "", `{"stream":1,"stream":2,"stream":null}`},
		{`{"a":{"peer_uid":0},"b":"upstream\"","c":"x_pid\""}`, "", `{"a":{"peer_uid":0},"b":"upstream\"","c":"x_pid\""}`},
		{`{"my_pid":1,"streams":2}`, "", `{"my_pid":1,"streams":2}`},
	}
	for _, tc := range cases {
		var f Formatter
		n := f.Prepare([]byte(tc.in), nil, []byte(tc.tail), false)
		got := f.Emit(nil)
		if string(got) != tc.want+"\n" {
			t.Errorf("%s + %s: got %s want %s", tc.in, tc.tail, got, tc.want)
		}
		if n != len(got) {
			t.Errorf("%q: prepared %d, emitted %d", tc.in, n, len(got))
		}
	}
}

func FuzzFormat(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{\n}", "x\xff", `{ }`, "{\"a\":\n\"b\"}\n", `{"peer_uid":0,"stream":"x"}`, `{"logfanin\u005fsid":"x"}`} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, withTail bool) {
		var tail []byte
		if withTail {
			tail = []byte(`,"peer_pid":1`)
		}
		var fm Formatter
		n := fm.Prepare(b, nil, tail, false)
		line := fm.Emit(nil)
		if n != len(line) {
			t.Fatalf("prepared %d, emitted %d: %q", n, len(line), line)
		}
		if bytes.Count(line, []byte("\n")) != 1 || !json.Valid(line) {
			t.Fatalf("bad line %q", line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if withTail && m["peer_pid"] != 1.0 {
			t.Fatalf("peer_pid %v in %q", m["peer_pid"], line)
		}
		for _, o := range ownedFields {
			if v, ok := m[o]; ok && v != nil && !(withTail && o == "peer_pid") {
				t.Fatalf("a sender's %s=%v survives in %q", o, v, line)
			}
		}
	})
}

// TestAppendLine: the line of a record with no fields added, appended to
// what dst holds; every kind of record gives one line.
func TestAppendLine(t *testing.T) {
	var f Formatter
	dst := []byte("x\n")
	for _, rec := range []string{`{"a":1}`, "{\n\"a\": 1\n}\n", "text\n", "two\nlines", `{"stream":"s"}`, ""} {
		dst = f.AppendLine(dst, []byte(rec))
	}
	want := "x\n" + `{"a":1}` + "\n" + `{"a":1}` + "\n" + `{"msg":"text"}` + "\n" + `{"msg":"two\nlines"}` + "\n" +
		`{"stream":"s","stream":null}` + "\n" + `{"msg":""}` + "\n"
	if string(dst) != want {
		t.Errorf("got\n%s\nwant\n%s", dst, want)
	}
	if f.Kind() != Wrapped {
		t.Errorf("kind %v after text", f.Kind())
	}
}

// TestFormatAllocs: a JSON object, plain, compacted or with the writer's
// fields claimed, is formatted without allocating once the scratch
// buffers have grown.
func TestFormatAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	recs := [][]byte{
		[]byte(`{"level":"info","msg":"x","n":1}` + "\n"),
		[]byte("{\n \"a\": [1,\n 2]\n}\n"),
		[]byte(`{"peer_uid":0,"stream":"x"}`),
		[]byte("text \xff\n"),
	}
	tail := []byte(`,"peer_pid":1`)
	var f Formatter
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		for _, rec := range recs {
			n := f.Prepare(rec, nil, tail, false)
			if len(buf)+n > cap(buf) {
				buf = buf[:0]
			}
			buf = f.Emit(buf)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

// TestPrepareScanned: an object prepared with the scan its caller made
// gives the line Prepare gives it, compacted and with the writer's own
// names claimed alike; an invalid scan wraps the text.
func TestPrepareScanned(t *testing.T) {
	tail := []byte(`,"peer_pid":7`)
	for _, in := range []string{
		`{"a":1}`,
		`{}`,
		`{ }`,
		"{\n \"a\": [1,\n 2]\n}",
		`{"peer_pid":1,"b":2}`,
		`{"pe\u0065r_pid":1}`,
		"{\n\"peer_pid\":1}",
	} {
		var f, g Formatter
		n := f.Prepare([]byte(in), nil, tail, false)
		want := f.Emit(nil)
		scan := ScanObject([]byte(in))
		if !scan.Valid() {
			t.Fatalf("%q: scan not valid", in)
		}
		m := g.PrepareScanned([]byte(in), scan, tail)
		if g.Kind() != f.Kind() {
			t.Errorf("%q: kind %v, Prepare's %v", in, g.Kind(), f.Kind())
		}
		got := g.Emit(nil)
		if string(got) != string(want) || m != n || m != len(got) {
			t.Errorf("%q: got %s (%d) want %s (%d)", in, got, m, want, n)
		}
	}
	var f Formatter
	if ScanObject([]byte(`{"a":`)).Valid() {
		t.Fatal("invalid object scanned valid")
	}
	n := f.PrepareScanned([]byte(`{"a":`), ScanObject([]byte(`{"a":`)), tail)
	got := f.Emit(nil)
	if want := `{"msg":"{\"a\":","peer_pid":7}` + "\n"; string(got) != want || n != len(got) || f.Kind() != Wrapped {
		t.Errorf("invalid scan: got %s (%d) want %s", got, n, want)
	}
}

// TestScanRecord: the record's JSON whitespace is dropped before the scan.
func TestScanRecord(t *testing.T) {
	if obj, scan := ScanRecord([]byte(" \t{\"a\":1}\r\n")); string(obj) != `{"a":1}` || !scan.Valid() {
		t.Errorf("got %q, valid %v", obj, scan.Valid())
	}
	if _, scan := ScanRecord([]byte("text {}\n")); scan.Valid() {
		t.Error("text scanned valid")
	}
}
