package forward

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// BenchmarkRequest maps a batch of 1024 zap records of 200 bytes and
// marshals it as an OTLP request: the forwarder's own CPU per record.
func BenchmarkRequest(b *testing.B) {
	var lines strings.Builder
	for i := range DefaultMaxBatch {
		l := fmt.Sprintf(`{"level":"info","ts":%d.5,"msg":"bench","i":%d,"pad":"`, 1700000000+i, i)
		lines.WriteString(l + strings.Repeat("x", 197-len(l)) + "\"}\n")
	}
	data := []byte(lines.String())
	f := &Forwarder{cfg: Config{MaxBatch: DefaultMaxBatch}, resource: pcommon.NewMap()}
	src := &source{buf: data}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		req := f.request(src, DefaultMaxBatch, len(data))
		if _, err := req.MarshalProto(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*DefaultMaxBatch), "ns/record")
}
