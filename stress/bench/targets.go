package bench

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Target is one goal checked against a run.
type Target struct {
	Goal  string
	Value string
	Met   bool
	Known bool // false: not measured in this run
}

// String is the target as the report prints it: what, verdict, numbers.
func (t Target) String() string {
	status := "not measured"
	if t.Known {
		status = "MISSED"
		if t.Met {
			status = "met"
		}
	}
	return fmt.Sprintf("%s: %s (%s)", t.Goal, status, t.Value)
}

// Targets checks the project's performance goals against the results.
func Targets(results []Result, lat *Latency, mem *Memory, goBench string) []Target {
	var ts []Target
	cmpAt := func(goal, a, b string, want float64, producers, size int) {
		t := Target{Goal: goal}
		ra, oka := find(results, a, producers, size)
		rb, okb := find(results, b, producers, size)
		if oka && okb && rb.RecordsPerSec() > 0 {
			x := ra.RecordsPerSec() / rb.RecordsPerSec()
			t.Value = fmt.Sprintf("%.2f×: %.0f vs %.0f records/s", x, ra.RecordsPerSec(), rb.RecordsPerSec())
			if rs := pairedRatios(ra, rb); len(rs) > 1 {
				x = rs[len(rs)/2]
				t.Value = fmt.Sprintf("%.2f×, the median ratio of the repetitions (%s); medians %.0f vs %.0f records/s",
					x, ratioList(rs), ra.RecordsPerSec(), rb.RecordsPerSec())
			}
			t.Known, t.Met = true, x >= want
		} else {
			t.Value = fmt.Sprintf("needs %s and %s at %d producers, %s", a, b, producers, sizeName(size))
		}
		ts = append(ts, t)
	}
	cmp := func(goal, a, b string, want float64) { cmpAt(goal, a, b, want, 4, 200) }
	cmp("fanin ≥ 3× rsyslog", "fanin", "rsyslog", 3)
	cmp("fanin ≥ naive zap on a shared O_APPEND file", "fanin", "naive", 1)
	cmp("fanin-batch ≥ 0.8× single-process zap", "fanin-batch", "zap", 0.8)
	cmp("direct ≥ 0.95× raw O_APPEND writes (through zap, as asked: includes zap's encoding, which raw skips)", "direct", "raw", 0.95)
	cmp("direct-raw ≥ 0.95× raw O_APPEND writes (same pre-encoded records: direct mode's own cost)", "direct-raw", "raw", 0.95)
	cmp("direct ≥ 0.95× naive zap on O_APPEND (same zap records)", "direct", "naive", 0.95)

	// The writer's own cost, for every client (issue 16).
	for _, p := range []int{4, 16} {
		cmpAt(fmt.Sprintf("fanin-frames ≥ 1.2× an obvious fan-in on the same frames (any-language stream socket, %d producers)", p), "fanin-frames", "obvious-frames", 1.2, p, 200)
		cmpAt(fmt.Sprintf("fanin-frames ≥ 0.9× raw O_APPEND writes (%d producers)", p), "fanin-frames", "raw", 0.9, p, 200)
	}
	cmp("fanin-bytes ≥ 4× raw O_APPEND writes (pre-encoded records through the ring)", "fanin-bytes", "raw", 4)
	cmp("fanin-dgram ≥ 2× rsyslog (datagrams)", "fanin-dgram", "rsyslog", 2)
	for _, size := range []int{8192, 65536} {
		cmpAt(fmt.Sprintf("fanin ≥ 1.2× naive zap at %s (4 producers)", sizeName(size)), "fanin", "naive", 1.2, 4, size)
	}
	t := Target{Goal: "fanin writer CPU ≤ 0.5 ns per byte at 64 KiB (4 producers)"}
	if r, ok := find(results, "fanin", 4, 65536); ok && r.Bytes > 0 {
		x := float64(r.WriterCPU.Nanoseconds()) / float64(r.Bytes)
		t.Known, t.Met, t.Value = true, x <= 0.5, fmt.Sprintf("%.2f ns per byte written", x)
	} else {
		t.Value = "needs fanin at 4 producers, 64 KiB"
	}
	ts = append(ts, t)

	t = Target{Goal: "writer batches: records per write(2) ≫ 1 (≥ 10)"}
	if r, ok := find(results, "fanin", 4, 200); ok && r.Writes > 0 {
		x := float64(r.Records) / float64(r.Writes)
		t.Known, t.Met, t.Value = true, x >= 10, fmt.Sprintf("fanin %.1f records/write", x)
		if rb, ok := find(results, "fanin-batch", 4, 200); ok && rb.Writes > 0 {
			t.Value += fmt.Sprintf(", fanin-batch %.1f", float64(rb.Records)/float64(rb.Writes))
		}
	} else {
		t.Value = "needs fanin at 4 producers, 200 B"
	}
	ts = append(ts, t)

	t = Target{Goal: "decode-and-batch path 0 allocs/op (writer BenchmarkFormat, BenchmarkPipeline)"}
	allocs := regexp.MustCompile(`(?m)^(Benchmark\S+).*?\s(\d+) allocs/op`).FindAllStringSubmatch(goBench, -1)
	if len(allocs) > 0 {
		t.Known, t.Met = true, true
		var parts []string
		for _, m := range allocs {
			n, _ := strconv.Atoi(m[2])
			if n != 0 {
				t.Met = false
			}
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimSuffix(m[1], "-"), n))
		}
		t.Value = strings.Join(parts, ", ")
	} else {
		t.Value = "go test -bench not run"
	}
	ts = append(ts, t)

	t = Target{Goal: "writer peak RSS < 64 MiB with 1000 clients"}
	if mem != nil && mem.Err == nil {
		t.Known, t.Met = true, mem.PeakRSS < 64<<20 && mem.Clients >= 1000
		t.Value = fmt.Sprintf("%.1f MiB with %d clients", float64(mem.PeakRSS)/(1<<20), mem.Clients)
	} else {
		t.Value = "memory not measured"
	}
	ts = append(ts, t)

	t = Target{Goal: "fanin p99 latency < 1 ms at half the maximum throughput"}
	if lat != nil && lat.Err == nil {
		t.Known, t.Met = true, lat.P99 < time.Millisecond
		t.Value = fmt.Sprintf("p50 %v, p99 %v at %d records/s, producers at %s", lat.P50.Round(time.Microsecond), lat.P99.Round(time.Microsecond), lat.Rate, ProcsName(lat.ProducerProcs))
	} else {
		t.Value = "latency not measured"
	}
	ts = append(ts, t)

	ts = append(ts, pythonTargets(results)...)

	t = Target{Goal: "no safe contender lost or tore a record"}
	t.Known, t.Met = true, true
	var bad []string
	for _, r := range results {
		c, _ := contenderByName(r.Contender)
		if c.safe && (r.Missing > 0 || r.Torn > 0) {
			t.Met = false
			bad = append(bad, fmt.Sprintf("%s p=%d %s: missing %d torn %d", r.Contender, r.Producers, sizeName(r.Size), r.Missing, r.Torn))
		}
	}
	t.Value = "every run verified with logcheck"
	if len(bad) > 0 {
		t.Value = strings.Join(bad, "; ")
	}
	ts = append(ts, t)
	return ts
}

// DirectRatios reports direct mode's rows at 4 producers and 200 B against
// the raw O_APPEND path and against naive zap: the default, with rotation,
// and each stricter locking level. The zap rows compare best with naive
// zap (the same records); direct-raw with raw (the same pre-encoded
// records).
func DirectRatios(results []Result) string {
	raw, okRaw := find(results, "raw", 4, 200)
	naive, okNaive := find(results, "naive", 4, 200)
	var parts []string
	for _, name := range []string{"direct", "direct-rotate", "direct-shared", "direct-always", "direct-raw"} {
		r, ok := find(results, name, 4, 200)
		if !ok {
			continue
		}
		p := name
		if okRaw && raw.RecordsPerSec() > 0 {
			p += fmt.Sprintf(" %.2f× raw", r.RecordsPerSec()/raw.RecordsPerSec())
		}
		if okNaive && naive.RecordsPerSec() > 0 && name != "direct-raw" {
			p += fmt.Sprintf(", %.2f× naive", r.RecordsPerSec()/naive.RecordsPerSec())
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return ""
	}
	return "Direct mode (4 producers, 200 B): " + strings.Join(parts, "; ")
}

// pairedRatios returns the ratios of a's throughput to b's repetition by
// repetition, sorted. Repetitions go round the contenders, so the i-th of
// each ran close in time, on the same machine weather: their ratio is
// steadier than the ratio of two medians taken from different moments.
func pairedRatios(a, b Result) []float64 {
	if len(a.RepRates) != len(b.RepRates) {
		return nil
	}
	var rs []float64
	for i, ra := range a.RepRates {
		if b.RepRates[i] > 0 {
			rs = append(rs, ra/b.RepRates[i])
		}
	}
	slices.Sort(rs)
	return rs
}

func ratioList(rs []float64) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%.2f", r))
	}
	return strings.Join(parts, ", ")
}
