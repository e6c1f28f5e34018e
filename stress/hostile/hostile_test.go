package hostile

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/logfanin/logfanin/stress"
)

func TestMain(m *testing.M) {
	Child()
	os.Exit(m.Run())
}

// TestPatterns runs every pattern briefly against the real sidecar: the
// ones that must be cut off are, by the counter that says why, the others
// are served, and the writer drains and exits cleanly after each. The CPU
// ratios are printed, never judged: the machines are shared.
func TestPatterns(t *testing.T) {
	dir := t.TempDir()
	bin, err := stress.BuildSidecar(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The counter that must move: what the writer did with the attack.
	want := map[string]string{
		"wake-flood":   "cut_off",
		"bad-length":   "too_large",
		"hellos":       "connections",
		"connects":     "connections",
		"datagrams":    "datagrams",
		"pipe-garbage": "garbage_bytes",
		"tiny-frames":  "wrapped",
		"empty-frames": "wrapped",
		"records":      "records",
		"py-controls":  "py_records",
		"py-malformed": "wrapped",
	}
	for _, p := range Patterns {
		t.Run(p.Name, func(t *testing.T) {
			pd, err := os.MkdirTemp(dir, p.Name)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(bin, pd, p, 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d ops, client %v, writer %v (%.2fx); %s", r.Ops, r.ClientCPU, r.WriterCPU, r.Amplification(), r.Stats)
			if r.CutOff != p.CutOff {
				t.Errorf("cut off: %v, want %v", r.CutOff, p.CutOff)
			}
			counter, ok := want[p.Name]
			if !ok {
				t.Fatalf("no expectation for %s", p.Name)
			}
			stats := map[string]string{}
			for _, f := range strings.Fields(r.Stats) {
				k, v, _ := strings.Cut(f, "=")
				stats[k] = v
			}
			if r.Ops == 0 || stats[counter] == "" || stats[counter] == "0" {
				t.Errorf("%d ops, and the writer's %s counter did not move: %s", r.Ops, counter, r.Stats)
			}
		})
	}
}
