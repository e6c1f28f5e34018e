package atomicwrite

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
)

// childEnv, when set in the environment, makes the test binary a writer
// child instead of running tests. Its value is the child's settings, see
// childSpec.
const childEnv = "ATOMICWRITE_TEST_CHILD"

// childSpec is what one child process writes.
type childSpec struct {
	Path     string
	Producer int
	Records  int
	MaxBytes int // largest record
	Locking  Locking
	MaxSize  int64 // rotation, 0 for none
	Compress bool
	Naive    bool // bufio.Writer over O_APPEND: tears records
}

func (c childSpec) encode() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decodeChild(s string) (c childSpec, err error) {
	err = json.Unmarshal([]byte(s), &c)
	return c, err
}

// runChild writes the records of one producer and returns the exit code.
func runChild() int {
	spec, err := decodeChild(os.Getenv(childEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var w interface{ Write([]byte) (int, error) }
	var finish func() error
	if spec.Naive {
		f, err := os.OpenFile(spec.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		bw := bufio.NewWriterSize(f, 4096)
		w, finish = bw, func() error { bw.Flush(); return f.Close() }
	} else {
		f, err := Open(spec.Path, WithLocking(spec.Locking), WithMaxSize(spec.MaxSize),
			WithCompress(spec.Compress), WithReopenCheck(50*time.Millisecond))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		w, finish = f, f.Close
	}
	rng := rand.New(rand.NewPCG(uint64(spec.Producer), 99))
	sizes := logcheck.Sizes(uint64(spec.Producer), spec.Records, spec.MaxBytes)
	var buf []byte
	for s, size := range sizes {
		buf = logcheck.Make(buf[:0], spec.Producer, s, size, rng)
		if _, err := w.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := finish(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runChildren runs n children writing to path at once and returns what
// the checker finds in path and its backups.
func runChildren(t *testing.T, n int, spec childSpec) logcheck.Report {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmds := make([]*exec.Cmd, n)
	outs := make([]*strings.Builder, n)
	expect := map[int]int{}
	for i := range cmds {
		s := spec
		s.Producer = i + 1
		expect[s.Producer] = s.Records
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+s.encode())
		outs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i+1, err, outs[i])
		}
	}
	rep, err := logcheck.CheckLog(expect, spec.Path)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

const (
	procs      = 4
	perProc    = 300
	maxRecord  = 1 << 20
	rotateSize = 256 << 10
)

func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	for _, level := range []Locking{LockAuto, LockShared, LockAlways} {
		for _, rotate := range []bool{false, true} {
			name := level.String()
			if rotate {
				name += "/rotate"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "app.log")
				spec := childSpec{Path: path, Records: perProc, MaxBytes: maxRecord, Locking: level}
				if rotate {
					spec.MaxSize = rotateSize
				}
				start := time.Now()
				rep := runChildren(t, procs, spec)
				files, _ := logcheck.LogFiles(path)
				t.Logf("%v; %d files; %v", rep, len(files), time.Since(start).Round(time.Millisecond))
				if !rep.OK() {
					t.Fatalf("%v\n%s", rep, strings.Join(rep.Examples, "\n"))
				}
				if rotate && len(files) < 10 {
					t.Fatalf("only %d files: rotation did not happen", len(files))
				}
			})
		}
	}
}

// TestMultiProcessCompress rotates and compresses while children write.
// Compression is slow under the race detector, so the volume is smaller.
func TestMultiProcessCompress(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "app.log")
	spec := childSpec{Path: path, Records: 150, MaxBytes: 64 << 10, MaxSize: 64 << 10, Compress: true}
	runChildren(t, procs, spec)
	// Children compress backups older than the settle delay; finish the
	// rest as a later rotation would, an hour on.
	later := func() time.Time { return time.Now().Add(time.Hour) }
	f, err := Open(path, WithCompress(true), WithClock(later))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cleanup(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	expect := map[int]int{}
	for p := 1; p <= procs; p++ {
		expect[p] = spec.Records
	}
	files, _ := logcheck.LogFiles(path)
	gz := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".gz") {
			gz++
		}
	}
	rep, err := logcheck.CheckLog(expect, path)
	t.Logf("%v; %d files, %d compressed", rep, len(files), gz)
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v\n%s", rep, err, strings.Join(rep.Examples, "\n"))
	}
	if gz == 0 || gz != len(files)-1 {
		t.Fatalf("%d of %d files compressed", gz, len(files))
	}
}

// TestMultiProcessNaive shows the checker catches what atomicwrite
// prevents: children writing through a 4 KiB bufio.Writer over O_APPEND
// split records at buffer boundaries, and siblings' chunks land between
// the pieces.
func TestMultiProcessNaive(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "app.log")
	rep := runChildren(t, procs, childSpec{Path: path, Records: perProc, MaxBytes: 64 << 10, Naive: true})
	t.Logf("%v", rep)
	if rep.OK() {
		t.Fatal("the checker found nothing wrong with naive writers")
	}
	if rep.Torn+rep.Interleaved == 0 {
		t.Fatalf("no torn or interleaved lines: %v", rep)
	}
}
