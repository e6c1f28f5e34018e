package stress_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/logfanin/logfanin/stress"
)

var (
	long     = flag.Bool("long", false, "run the long matrix: more processes, more records, every size up to 1 MiB")
	duration = flag.Duration("stress.duration", 0, "repeat each mode with new seeds for this long")
	seed     = flag.Uint64("stress.seed", 0, "seed of the records (0: from the clock); printed by every run")
	dir      = flag.String("stress.dir", "", "directory for the output files, e.g. on the file system under test (default: a temporary directory)")
	procs    = flag.Int("stress.procs", 0, "producer processes per mode (default: 3, or 6 with -long)")
	bugs     = flag.Bool("stress.bugs", false, "also run the modes that show known bugs, and fail on them")
	records  = flag.Int("stress.records", 0, "records per producer (default: CI-sized, or 500 with -long)")
)

// sidecar is the logfanin binary built by TestMain.
var sidecar string

func TestMain(m *testing.M) {
	stress.Child() // a producer: runs and exits
	flag.Parse()
	tmp, err := os.MkdirTemp("", "logfanin-stress-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sidecar, err = stress.BuildSidecar(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	// lumberjack starts its mill goroutine on the first open and never
	// stops it.
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// config is the matrix a test run uses: CI-sized by default, scaled down
// under the race detector, large with -long.
func config(t *testing.T, modes []stress.Mode) stress.Config {
	cfg := stress.Config{Modes: modes, Procs: 3, Records: 40, Seed: *seed, Dir: *dir, Sidecar: sidecar, Duration: *duration}
	if stress.RaceEnabled {
		cfg.Records = 15
	}
	if *long {
		cfg.Procs, cfg.Records = 6, 500
	}
	if *procs > 0 {
		cfg.Procs = *procs
	}
	if *records > 0 {
		cfg.Records = *records
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	cfg.Log = testWriter{t}
	return cfg
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

var (
	tableMu sync.Mutex
	table   []*stress.Result
)

func runModes(t *testing.T, modes []stress.Mode) {
	for _, m := range modes {
		t.Run(m.Name, func(t *testing.T) {
			cfg := config(t, []stress.Mode{m})
			t.Logf("seed %d (replay with -stress.seed=%d or go run ./stress/cmd/stress -modes %s -seed %d -procs %d -records %d)",
				cfg.Seed, cfg.Seed, m.Name, cfg.Seed, cfg.Procs, cfg.Records)
			res, err := stress.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			tableMu.Lock()
			table = append(table, r)
			tableMu.Unlock()
			if !r.OK() {
				if m.Control {
					t.Fatalf("the naive writer of %s passed verification: %v", m.Name, r.Report)
				}
				t.Fatalf("%s failed:\n%s\n%s", m.Name, strings.Join(r.Failures, "\n"), strings.Join(r.Report.Examples, "\n"))
			}
		})
	}
}

// TestModes runs every safe mode: no record may be missing, duplicated,
// torn, interleaved or reordered, and every killed producer's half record
// must be counted by the writer and kept out of the output.
func TestModes(t *testing.T) {
	modes, err := stress.SelectModes("safe")
	if err != nil {
		t.Fatal(err)
	}
	runModes(t, modes)
}

// TestControls runs the naive writers under the same load: the verifier
// must catch every one of them, or its silence about the safe modes means
// nothing.
func TestControls(t *testing.T) {
	modes, err := stress.SelectModes("controls")
	if err != nil {
		t.Fatal(err)
	}
	runModes(t, modes)
}

// TestKnownBugs runs the modes that show a known bug in another package.
// They fail today; they are skipped unless -stress.bugs is given, and
// then must pass once the bug is fixed (the mode then joins "safe").
func TestKnownBugs(t *testing.T) {
	modes, err := stress.SelectModes("bugs")
	if err != nil {
		t.Skip("no known bugs")
	}
	if !*bugs {
		for _, m := range modes {
			t.Logf("%s: %s", m.Name, m.Bug)
		}
		t.Skip("known bugs; run with -stress.bugs to reproduce them")
	}
	runModes(t, modes)
}

// TestSummary prints the table of every mode run above.
func TestSummary(t *testing.T) {
	tableMu.Lock()
	defer tableMu.Unlock()
	if len(table) == 0 {
		t.Skip("no mode ran")
	}
	var b bytes.Buffer
	stress.WriteTable(&b, table, false)
	t.Logf("\n%s", &b)
}
