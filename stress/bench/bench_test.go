package bench

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(envSetupChild) != "" {
		setupChild()
	}
	Child()
	goleak.VerifyTestMain(m)
}

// TestSmoke runs every contender but rsyslog on a tiny workload and checks
// that every safe one delivered every record whole. It asserts nothing
// about time.
func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	bin, err := BuildSidecar(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range ContenderNames() {
		if n != "rsyslog" {
			names = append(names, n)
		}
	}
	results, err := Run(Config{
		Contenders: names,
		Producers:  []int{2},
		Sizes:      []int{200, 8192},
		Records:    200,
		Reps:       1,
		Dir:        dir,
		Sidecar:    bin,
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteTable(&b, results)
	t.Log("\n" + b.String())
	for _, r := range results {
		c, _ := contenderByName(r.Contender)
		if r.Err != nil {
			t.Errorf("%s p=%d size=%d: %v", r.Contender, r.Producers, r.Size, r.Err)
			continue
		}
		if r.Records != 200 {
			t.Errorf("%s: %d records, want 200", r.Contender, r.Records)
		}
		if c.safe && (r.Missing != 0 || r.Torn != 0) {
			t.Errorf("%s p=%d size=%d: missing %d torn %d: %v", r.Contender, r.Producers, r.Size, r.Missing, r.Torn, r.Report.Examples)
		}
	}
	_ = os.Stderr
}

// BenchmarkFanIn runs contenders at 4 producers and 200 B records, b.N
// records in all, each right after the single-process zap baseline with the
// same records, and reports throughput as ratios to that baseline
// (x-zap) and to the naive shared O_APPEND file (x-naive), measured in the
// same run. ns/op is the time per record from the start signal to the
// record being in the output.
func BenchmarkFanIn(b *testing.B) {
	dir := b.TempDir()
	bin, err := BuildSidecar(dir)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Dir: dir, Sidecar: bin, Reps: 1}
	if err := cfg.fill(); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"fanin", "fanin-batch", "fanin-pipe", "fanin-dgram", "direct", "direct-raw"} {
		b.Run(name, func(b *testing.B) {
			const producers, size = 4, 200
			per := max(b.N/producers, 1)
			b.StopTimer()
			run := func(n string) Result {
				c, _ := contenderByName(n)
				r := runOnce(&cfg, c, producers, size, per, 0, false)
				if r.Err != nil {
					b.Fatalf("%s: %v", n, r.Err)
				}
				if c.safe && (r.Missing != 0 || r.Torn != 0) {
					b.Fatalf("%s: missing %d torn %d", n, r.Missing, r.Torn)
				}
				return r
			}
			zap, naive := run("zap"), run("naive")
			r := run(name)
			b.ReportMetric(float64(r.Elapsed.Nanoseconds())/float64(r.Records), "ns/op")
			b.ReportMetric(r.RecordsPerSec(), "records/s")
			b.ReportMetric(r.RecordsPerSec()/zap.RecordsPerSec(), "x-zap")
			b.ReportMetric(r.RecordsPerSec()/naive.RecordsPerSec(), "x-naive")
		})
	}
}
