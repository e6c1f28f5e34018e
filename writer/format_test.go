package writer

import (
	"fmt"
	"testing"

	"github.com/logfanin/logfanin/internal/jsonline"
	"github.com/logfanin/logfanin/internal/logcheck"
)

// BenchmarkFormat measures a JSON record from the wire into a block: no
// allocation.
func BenchmarkFormat(b *testing.B) {
	rec := []byte(`{"level":"info","ts":1712345678.123456,"caller":"server/handler.go:42","msg":"request served","method":"GET","path":"/api/v1/items","status":200,"duration":0.0123}` + "\n")
	tail := []byte(`,"peer_pid":12345,"peer_uid":1000,"peer_gid":1000`)
	var f jsonline.Formatter
	buf := make([]byte, 0, blockSize)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		n := f.Prepare(rec, nil, tail, false)
		if len(buf)+n > cap(buf) {
			buf = buf[:0]
		}
		buf = f.Emit(buf)
	}
}

// BenchmarkFormatBig measures big JSON records from the wire into a block
// (validation and the one copy), in ns per byte of record.
func BenchmarkFormatBig(b *testing.B) {
	tail := []byte(`,"peer_pid":12345,"peer_uid":1000,"peer_gid":1000`)
	for _, size := range []int{8 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			rec := logcheck.Make(nil, 1, 1, size, newRand(1))
			var f jsonline.Formatter
			buf := make([]byte, 0, 2*size)
			b.ReportAllocs()
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				f.Prepare(rec, nil, tail, false)
				buf = f.Emit(buf[:0])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rec)), "ns/byte")
		})
	}
}
