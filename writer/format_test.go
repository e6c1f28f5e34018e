package writer

import (
	"bytes"
	"testing"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// FuzzFormatSameLine: the writer's formatter (gjson's validator) writes
// the same line for every record as jsonline's with encoding/json, the
// one the sink's fallback file is written with. The format itself is
// fuzzed in package jsonline (FuzzFormat).
func FuzzFormatSameLine(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{\n}", "x\xff", `{ }`, "{\"a\":\n\"b\"}\n", `{"peer_uid":0,"stream":"x"}`, `{"a":01}`, `{"a":"\ud800"}`} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, withTail bool) {
		var tail []byte
		if withTail {
			tail = []byte(`,"peer_pid":1`)
		}
		var w formatter
		var std jsonline.Formatter
		got := w.Emit(make([]byte, 0, w.prepare(b, nil, tail, false)))
		want := std.Emit(make([]byte, 0, std.Prepare(b, nil, tail, false)))
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: the writer writes %q, encoding/json's validator %q", b, got, want)
		}
	})
}

// BenchmarkFormat measures a JSON record from the wire into a block: no
// allocation.
func BenchmarkFormat(b *testing.B) {
	rec := []byte(`{"level":"info","ts":1712345678.123456,"caller":"server/handler.go:42","msg":"request served","method":"GET","path":"/api/v1/items","status":200,"duration":0.0123}` + "\n")
	tail := []byte(`,"peer_pid":12345,"peer_uid":1000,"peer_gid":1000`)
	var f formatter
	buf := make([]byte, 0, blockSize)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		n := f.prepare(rec, nil, tail, false)
		if len(buf)+n > cap(buf) {
			buf = buf[:0]
		}
		buf = f.Emit(buf)
	}
}
