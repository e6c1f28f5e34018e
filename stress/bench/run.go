package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/proccpu"
)

// Config says what Run measures. Zero fields take the defaults noted.
type Config struct {
	Contenders []string // contender names (ContenderNames, default all)
	Producers  []int    // producer process counts (default 1, 4, 16)
	Sizes      []int    // target record sizes in bytes (default 200, 1024, 8192, 65536)
	Records    int      // records per run at most (default 400,000)
	MaxBytes   int64    // bytes per run at most: fewer records for large sizes (default 128 MiB)
	Reps       int      // repetitions; the median run is reported (default 3)

	// ProducerProcs is the GOMAXPROCS of a producer process (default 1:
	// a single-threaded worker, as in a prefork or multiprocessing pool;
	// -1 leaves the runtime's default, a P per core). The in-process
	// contenders, zap and zap-buffered, keep the default. With a P per
	// core, each producer's runtime wakes a second thread to run what a
	// timer or the network poller made ready (about 1.7 times the
	// producers' wake-ups, measured with perf), and on a small machine
	// those compete with the writer for the cores.
	ProducerProcs int

	Dir      string    // scratch directory for sockets and output files (required)
	Sidecar  string    // the logfanin binary (BuildSidecar); required for the fanin contenders
	Rsyslogd string    // rsyslogd, or "" to skip the rsyslog contender
	Self     string    // the executable re-run as producer processes (default os.Executable)
	Progress io.Writer // one line per run (default io.Discard)
}

func (c *Config) fill() error {
	if len(c.Contenders) == 0 {
		c.Contenders = ContenderNames()
	}
	for _, n := range c.Contenders {
		if _, ok := contenderByName(n); !ok {
			return fmt.Errorf("unknown contender %q (have %s)", n, strings.Join(ContenderNames(), ", "))
		}
	}
	if len(c.Producers) == 0 {
		c.Producers = []int{1, 4, 16}
	}
	if len(c.Sizes) == 0 {
		c.Sizes = []int{200, 1024, 8192, 65536}
	}
	if c.Records <= 0 {
		c.Records = 400_000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 128 << 20
	}
	if c.Reps <= 0 {
		c.Reps = 3
	}
	if c.ProducerProcs == 0 {
		c.ProducerProcs = 1
	}
	if c.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		c.Self = self
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Dir == "" {
		return errors.New("bench: Config.Dir is required")
	}
	return nil
}

// recordsPerProducer is how many records each of n producers writes.
func (c *Config) recordsPerProducer(n, size int) int {
	total := min(int64(c.Records), c.MaxBytes/int64(size))
	return max(int(total)/n, 1)
}

// Result is one measured run (or the median of several).
type Result struct {
	Contender string
	Producers int
	Size      int // target record size
	Records   int // records written by the producers
	Bytes     int64
	Elapsed   time.Duration

	WriterCPU   time.Duration // user+system CPU of the writing process(es)
	WriterRSS   int64         // peak resident set of the writing process, bytes (max over processes)
	ProducerCPU time.Duration // user+system CPU of the producer processes
	Writes      uint64        // write calls of the sidecar (0: not known)

	Missing, Torn int // summed over every repetition
	Report        logcheck.Report
	Reps          int
	RepRates      []float64 // records/s of each repetition, in the order run
	Note          string
	Err           error
}

// RecordsPerSec is the throughput.
func (r Result) RecordsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Records) / r.Elapsed.Seconds()
}

// MBPerSec is the throughput in MB (10^6 bytes) of output per second.
func (r Result) MBPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds()
}

// Run measures every selected contender, producer count and size, and
// returns one Result (the median of the repetitions) for each.
func Run(cfg Config) ([]Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	var results []Result
	for _, p := range cfg.Producers {
		for _, size := range cfg.Sizes {
			results = append(results, runCell(&cfg, p, size)...)
		}
	}
	return results, nil
}

// runCell measures every contender at one producer count and record size.
// The repetitions go round the contenders, every contender once and then
// again, so that a slow spell of a shared machine weighs on all of them
// alike rather than on the one that happened to run through it.
func runCell(cfg *Config, producers, size int) []Result {
	results := make([]Result, len(cfg.Contenders))
	reps := make([][]Result, len(cfg.Contenders))
	runs := make([]bool, len(cfg.Contenders))
	for i, name := range cfg.Contenders {
		c, _ := contenderByName(name)
		switch {
		case c.kind == kindRsyslog && cfg.Rsyslogd == "":
			results[i] = Result{Contender: name, Producers: producers, Size: size, Note: "skipped: rsyslogd not available"}
		case (c.kind == kindSidecar || c.listen != "") && cfg.Sidecar == "":
			results[i] = Result{Contender: name, Producers: producers, Size: size, Note: "skipped: no sidecar binary"}
		case c.kind == kindPython && pythonMissing() != "":
			results[i] = Result{Contender: name, Producers: producers, Size: size, Note: "skipped: " + pythonMissing()}
		default:
			runs[i] = true
		}
	}
	for rep := range cfg.Reps {
		for i, name := range cfg.Contenders {
			if !runs[i] {
				continue
			}
			c, _ := contenderByName(name)
			r := runOnce(cfg, c, producers, size, cfg.recordsPerProducer(producers, size), 0, false)
			fmt.Fprintf(cfg.Progress, "%-14s p=%-2d size=%-6d rep %d: %s\n", c.name, producers, size, rep+1, r.brief())
			if r.Err != nil {
				results[i], runs[i] = r, false
				continue
			}
			reps[i] = append(reps[i], r)
		}
	}
	for i := range cfg.Contenders {
		if runs[i] {
			results[i] = median(reps[i])
		}
	}
	return results
}

// median returns the repetition with the median throughput, with the
// verification counts of all of them.
func median(reps []Result) Result {
	missing, torn := 0, 0
	var rates []float64
	for _, r := range reps {
		missing += r.Report.Missing
		torn += r.Report.Torn + r.Report.Interleaved
		rates = append(rates, r.RecordsPerSec())
	}
	sort.Slice(reps, func(i, j int) bool { return reps[i].RecordsPerSec() < reps[j].RecordsPerSec() })
	m := reps[len(reps)/2]
	m.Missing, m.Torn, m.Reps, m.RepRates = missing, torn, len(reps), rates
	return m
}

func (r Result) brief() string {
	if r.Err != nil {
		return "error: " + r.Err.Error()
	}
	return fmt.Sprintf("%.0f rec/s %.1f MB/s, missing %d torn %d", r.RecordsPerSec(), r.MBPerSec(), r.Report.Missing, r.Report.Torn+r.Report.Interleaved)
}

// runOnce runs one repetition. rate, when not zero, limits each producer
// to that many records per second (the latency measurement uses it with
// stamp).
func runOnce(cfg *Config, c contender, producers, size, perProducer int, rate int, stamp bool) (r Result) {
	r = Result{Contender: c.name, Producers: producers, Size: size, Records: producers * perProducer, Reps: 1}
	dir, err := os.MkdirTemp(cfg.Dir, c.name+"-")
	if err != nil {
		r.Err = err
		return r
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.log")
	base := job{Contender: c.name, Records: perProducer, Size: size, Path: out, Rate: rate, Stamp: stamp}

	var w writerProc
	var extra []*os.File
	switch {
	case c.obvious:
		ob, err := startObvious(cfg, dir, out)
		if err != nil {
			r.Err = err
			return r
		}
		w = ob
		base.Addr = ob.addr
	case c.kind == kindSidecar || c.listen != "":
		sc, err := startSidecar(cfg.Sidecar, c.listen, dir, out)
		if err != nil {
			r.Err = err
			return r
		}
		w = sc
		base.Addr = sc.addr
		if sc.pipeW != nil {
			extra = []*os.File{sc.pipeW}
		}
	case c.kind == kindRsyslog:
		rs, err := startRsyslog(cfg.Rsyslogd, dir, out)
		if err != nil {
			r.Err = err
			return r
		}
		w = rs
		base.Addr = rs.sock
	}
	stopWriter := func() {
		if w != nil {
			w.kill()
		}
	}

	var children []*child
	fail := func(err error) Result {
		for _, ch := range children {
			ch.stdin.Close()
			ch.cmd.Process.Kill()
			ch.cmd.Wait()
		}
		stopWriter()
		r.Err = err
		return r
	}
	if c.kind == kindZap || c.kind == kindPython {
		j := base
		for p := range producers {
			j.Producers = append(j.Producers, p)
		}
		ch, err := startProducer(cfg, c, j, nil)
		if err != nil {
			return fail(err)
		}
		children = append(children, ch)
	} else {
		for p := range producers {
			j := base
			j.Producers = []int{p}
			ch, err := startChild(cfg, j, extra)
			if err != nil {
				return fail(err)
			}
			children = append(children, ch)
		}
	}
	if sc, ok := w.(*sidecar); ok && sc.pipeW != nil {
		// Only the producers hold the pipe's write end now, so the
		// sidecar sees the end of the pipe when the last one exits.
		sc.pipeW.Close()
		sc.pipeW = nil
	}

	// The writer's CPU counts from here, as the producers' does from
	// their start signal: setting up is not writing (where /proc can't
	// say what the writer used so far, its setup is counted).
	var writerSetup time.Duration
	if w != nil {
		writerSetup, _ = proccpu.Of(w.pid())
	}
	start := time.Now()
	for _, ch := range children {
		ch.stdin.Close()
	}
	var errs []error
	for _, ch := range children {
		used, peak, err := ch.wait()
		if err != nil {
			errs = append(errs, err)
		}
		r.ProducerCPU += used
		if w == nil {
			r.WriterCPU += used
			r.WriterRSS = max(r.WriterRSS, peak)
		}
	}
	if len(errs) > 0 {
		stopWriter()
		r.Err = fmt.Errorf("producer: %w", errors.Join(errs...))
		return r
	}
	if w != nil {
		ws, err := w.finish(r.Records)
		if err != nil {
			r.Err = err
			return r
		}
		r.WriterCPU, r.WriterRSS, r.Writes, r.Note = max(cpu(ws.ru)-writerSetup, 0), ws.peakRSS, ws.writes, ws.note
		if !ws.done.IsZero() {
			r.Elapsed = ws.done.Sub(start)
		}
	}
	if r.Elapsed == 0 {
		r.Elapsed = time.Since(start)
	}

	files, err := logcheck.LogFiles(out)
	if err != nil {
		r.Err = err
		return r
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			r.Bytes += st.Size()
		}
	}
	expect := make(map[int]int, producers)
	for p := range producers {
		expect[p] = perProducer
	}
	rep, err := logcheck.CheckFiles(expect, files...)
	if err != nil {
		r.Err = err
		return r
	}
	r.Report = rep
	r.Missing, r.Torn = rep.Missing, rep.Torn+rep.Interleaved
	return r
}

var statRe = regexp.MustCompile(`records=(\d+) bytes=\d+ writes=(\d+)`)
