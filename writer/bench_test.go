package writer

import (
	"bufio"
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/wire"
)

type discardOutput struct{}

func (discardOutput) Write(p []byte) (int, error) { return len(p), nil }
func (discardOutput) Reopen() error               { return nil }
func (discardOutput) Close() error                { return nil }

// BenchmarkPipeline sends 200-byte JSON records over a real socket from
// four connections into an output that discards them; it reports records
// per second, allocations per record and writes per record.
func BenchmarkPipeline(b *testing.B) {
	s := New(discardOutput{}, WithDiagnostics(io.Discard))
	s.Start()
	path := filepath.Join(b.TempDir(), "s.sock")
	if err := s.Listen("unix://" + path); err != nil {
		b.Fatal(err)
	}
	const conns = 4
	rec := logcheck.Make(nil, 1, 1, 200, newRand(1))
	frame := wire.AppendFrame(nil, rec)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	errs := make(chan error, conns)
	for i := range conns {
		n := b.N / conns
		if i == 0 {
			n += b.N % conns
		}
		go func() {
			c, err := net.Dial("unix", path)
			if err != nil {
				errs <- err
				return
			}
			w := bufio.NewWriterSize(c, 64<<10)
			for range n {
				w.Write(frame)
			}
			w.Flush()
			errs <- c.Close()
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	s.Shutdown(context.Background())
	b.StopTimer()
	st := s.Stats()
	if st.Records != uint64(b.N) {
		b.Fatalf("%d records of %d", st.Records, b.N)
	}
	b.ReportMetric(float64(st.Records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(st.Writes)/float64(st.Records), "writes/record")
}
