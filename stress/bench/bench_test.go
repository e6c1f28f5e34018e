package bench

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
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
