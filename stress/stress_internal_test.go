package stress

import (
	"bytes"
	"strings"
	"testing"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/wire"
)

func TestSelectModes(t *testing.T) {
	all, err := SelectModes("all")
	if err != nil {
		t.Fatal(err)
	}
	safe, _ := SelectModes("safe")
	controls, _ := SelectModes("controls")
	if len(safe)+len(controls) != len(all) || len(controls) != 3 {
		t.Errorf("all=%d safe=%d controls=%d", len(all), len(safe), len(controls))
	}
	for _, m := range safe {
		if m.Control || m.Bug != "" {
			t.Errorf("%s in safe", m.Name)
		}
	}
	direct, err := SelectModes("direct*,naive-pipe")
	if err != nil || len(direct) != 5 {
		t.Errorf("direct*,naive-pipe: %d modes, %v", len(direct), err)
	}
	if _, err := SelectModes("bogus"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("bogus: %v", err)
	}
}

// Sizes are reproducible from the seed, in range, and include the wire
// boundaries.
func TestSizes(t *testing.T) {
	const max = 1 << 20
	a, b := sizes(42, 3, 5000, max), sizes(42, 3, 5000, max)
	seen := map[int]bool{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("size %d differs: %d, %d", i, a[i], b[i])
		}
		if a[i] < logcheck.MinSize || a[i] > max {
			t.Fatalf("size %d out of range", a[i])
		}
		seen[a[i]] = true
	}
	for _, want := range []int{wire.MaxChunkPayload, wire.MaxChunkPayload + 1, 2*wire.MaxChunkPayload - 1, wire.PipeBuf, max} {
		if !seen[want] {
			t.Errorf("size %d never drawn", want)
		}
	}
	for _, s := range sizes(1, 1, 1000, 512) {
		if s > 512 {
			t.Fatalf("size %d over 512", s)
		}
	}
}

func TestModeSeedReplay(t *testing.T) {
	// The failure message's -seed must give the same mode seed back.
	s := ModeSeed(1000, 3, "writer-pipe")
	if got := ModeSeed(s^ModeSeed(0, 0, "writer-pipe"), 0, "writer-pipe"); got != s {
		t.Errorf("replay seed gives %d, want %d", got, s)
	}
}

func TestWriteTable(t *testing.T) {
	ms, _ := SelectModes("direct-auto,naive-trunc")
	res := []*Result{{Mode: ms[0], Procs: 2, Rounds: 1, Records: 10, Bytes: 1000},
		{Mode: ms[1], Procs: 4, Rounds: 1, Records: 10, Report: logcheck.Report{Missing: 3}}}
	var b bytes.Buffer
	if err := WriteTable(&b, res, true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| mode | procs |", "| direct-auto | 2 | 1 | 10 |", "caught (control)", "| total |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
