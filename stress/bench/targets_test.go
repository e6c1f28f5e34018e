package bench

import (
	"strings"
	"testing"
	"time"
)

func cell(name string, elapsed time.Duration, rates ...float64) Result {
	return Result{Contender: name, Producers: 4, Size: 200, Records: 1000, Elapsed: elapsed, Reps: len(rates), RepRates: rates}
}

// TestTargetsPairedRatios: a comparison is judged by the median of the
// repetitions' ratios, which can differ from the ratio of the medians.
func TestTargetsPairedRatios(t *testing.T) {
	// Medians: 1000 vs 1000 records/s (ratio 1); repetition by repetition
	// fanin is ahead twice: 1.5, 1.2, 0.5.
	results := []Result{
		cell("fanin", time.Second, 1500, 1000, 600),
		cell("naive", time.Second, 1000, 1000/1.2, 1200),
	}
	ts := Targets(results, nil, nil, "")
	var got Target
	for _, tg := range ts {
		if strings.HasPrefix(tg.Goal, "fanin ≥ naive zap") {
			got = tg
		}
	}
	if !got.Known || !got.Met || !strings.HasPrefix(got.Value, "1.20×") {
		t.Errorf("target %+v, want met at the median ratio 1.20×", got)
	}
	// Unpaired (different repetition counts): the ratio of the medians.
	results[1].RepRates = results[1].RepRates[:2]
	for _, tg := range Targets(results, nil, nil, "") {
		if strings.HasPrefix(tg.Goal, "fanin ≥ naive zap") && (!tg.Met || !strings.HasPrefix(tg.Value, "1.00×")) {
			t.Errorf("unpaired target %+v, want the ratio of the medians, 1.00×", tg)
		}
	}
}

// TestTargetsWriterCost: the issue-16 targets read the rows at their own
// producer count and size, and the writer's CPU per byte written.
func TestTargetsWriterCost(t *testing.T) {
	frames := cell("fanin-frames", time.Second, 1300)
	frames.Producers, frames.Records = 16, 1300
	obvious := cell("obvious-frames", time.Second, 1000)
	obvious.Producers = 16
	big := Result{Contender: "fanin", Producers: 4, Size: 65536, Records: 10, Bytes: 1 << 20, Elapsed: time.Second, WriterCPU: time.Millisecond}
	want := map[string]string{
		"fanin-frames ≥ 1.2× an obvious fan-in on the same frames (any-language stream socket, 16 producers)": "met (1.30×",
		"fanin-frames ≥ 1.2× an obvious fan-in on the same frames (any-language stream socket, 4 producers)":  "not measured",
		"fanin writer CPU ≤ 0.5 ns per byte at 64 KiB (4 producers)":                                          "MISSED (0.95 ns per byte",
	}
	for _, tg := range Targets([]Result{frames, obvious, big}, nil, nil, "") {
		if w, ok := want[tg.Goal]; ok {
			if !strings.Contains(tg.String(), ": "+w) {
				t.Errorf("%s", tg)
			}
			delete(want, tg.Goal)
		}
	}
	for g := range want {
		t.Errorf("no target %q", g)
	}
}
