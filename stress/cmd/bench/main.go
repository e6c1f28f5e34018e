// Command bench measures logfanin side by side with the ways many processes
// log today, on the same workload, and verifies every record of every run.
//
//	go run ./stress/cmd/bench            # the full matrix, a long run
//	go run ./stress/cmd/bench -quick     # a small matrix in about a minute
//
// It builds the sidecar (cmd/logfanin) once, installs rsyslog with apt-get
// when rsyslogd is missing (the rsyslog rows are skipped, with a note, if
// that fails), then runs every contender in turn for every producer count
// and record size: N producer processes (this binary, re-executed, each a
// single-threaded worker at GOMAXPROCS=1 unless -producer-procs says
// otherwise) log records through zap's production JSON encoder, each carrying the
// logcheck check fields and a padding field that brings it to the size.
// Every output file is checked with logcheck; a run that lost or tore
// records shows it in the missing and torn columns.
//
// It prints the table, writes it with the machine, the command and the
// targets to docs/BENCHMARKS.md, and draws records/s per contender and
// size into docs/bench.png (paths relative to the module root). It also
// measures the fan-in latency at half the fanin contender's throughput (the
// target's point), at a quarter of it, and at half again with producers at
// the runtime's default GOMAXPROCS, -reps times each, reporting the run with
// the median p99; the sidecar's memory with 1000 connected
// clients; and runs the writer package's allocation benchmarks.
//
// The latency of a record runs from the producer's Write call (a stamp in
// the record) to the kernel's stamp on the sidecar's write(2) of it: the
// sidecar writes to a Unix SOCK_SEQPACKET socket with SO_TIMESTAMPNS, so
// the reader's own scheduling delay is not counted.
//
// Flags:
//
//	-contenders LIST   comma-separated contenders (default all):
//	                   zap, zap-buffered, raw, naive, rsyslog, fanin, fanin-socket, fanin-noack, fanin-batch,
//	                   fanin-pipe, fanin-dgram, fanin-frames, obvious-frames, fanin-bytes,
//	                   direct, direct-rotate, direct-raw,
//	                   direct-shared, direct-always; and the Python rows (python3: the producers are
//	                   multiprocessing workers of one parent): py-filehandler, py-filehandler-same,
//	                   py-cookbook, py-example, py-syslog, py-logfanin
//	-producers LIST    producer process counts (default 1,4,16)
//	-sizes LIST        target record sizes in bytes (default 200,1024,8192,65536)
//	-records N         records per run at most (default 400000)
//	-mb N              MiB per run at most, fewer records for large sizes (default 128)
//	-reps N            repetitions per run, taken in turns across the contenders;
//	                   the median is reported (default 3)
//	-quick             small matrix: 4 producers, 200 B and 8 KiB, 20000 records, 1 rep
//	-latency=false     skip the latency measurement
//	-latency-rate N    records/s of the target's point (default: half the fanin
//	                   throughput); the others are half of it and the same rate
//	                   with producers at the runtime's default GOMAXPROCS
//	-producer-procs N  GOMAXPROCS of each producer process (default 1; 0: the runtime's default)
//	-clients N         clients for the memory measurement (default 1000, 0 skips)
//	-gobench=false     skip go test -bench of the writer package
//	-install=false     don't apt-get install rsyslog when it is missing
//	-md PATH           Markdown report (default docs/BENCHMARKS.md, "" for none;
//	                   a relative path is from the module root)
//	-chart PATH        chart (default docs/bench.png, "" for none; likewise)
//	-sidecar PATH      the logfanin binary to run instead of building cmd/logfanin
//	                   (a build of your own, for profiling)
package main

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/logfanin/logfanin/stress/bench"
)

func main() {
	bench.Child()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run() error {
	contenders := flag.String("contenders", "", "comma-separated contenders (default all)")
	producers := flag.String("producers", "1,4,16", "producer process counts")
	sizes := flag.String("sizes", "200,1024,8192,65536", "target record sizes in bytes")
	records := flag.Int("records", 400_000, "records per run at most")
	mb := flag.Int("mb", 128, "MiB per run at most")
	reps := flag.Int("reps", 3, "repetitions per run (median reported)")
	quick := flag.Bool("quick", false, "small matrix: 4 producers, 200 B and 8 KiB, 20000 records, 1 rep")
	latency := flag.Bool("latency", true, "measure fan-in latency at half throughput, a quarter, and half with producers at the default GOMAXPROCS")
	latRate := flag.Int("latency-rate", 0, "records/s of the latency target's point (0: half the fanin throughput)")
	procs := flag.Int("producer-procs", 1, "GOMAXPROCS of each producer process (0: the runtime's default)")
	clients := flag.Int("clients", 1000, "clients for the memory measurement (0 skips)")
	gobench := flag.Bool("gobench", true, "run go test -bench of the writer package")
	install := flag.Bool("install", true, "apt-get install rsyslog when rsyslogd is missing")
	md := flag.String("md", "docs/BENCHMARKS.md", "Markdown report; a relative path is from the module root (\"\" for none)")
	chart := flag.String("chart", "docs/bench.png", "chart; a relative path is from the module root (\"\" for none)")
	sidecarBin := flag.String("sidecar", "", "logfanin binary to run (default: build cmd/logfanin), for profiling a build of your own")
	flag.Parse()

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["producers"] {
			*producers = "4"
		}
		if !set["sizes"] {
			*sizes = "200,8192"
		}
		if !set["records"] {
			*records = 20_000
		}
		if !set["mb"] {
			*mb = 16
		}
		if !set["reps"] {
			*reps = 1
		}
	}
	cfg := bench.Config{Records: *records, MaxBytes: int64(*mb) << 20, Reps: *reps, ProducerProcs: *procs, Progress: os.Stderr}
	if *procs <= 0 {
		cfg.ProducerProcs = -1
	}
	var err error
	if *contenders != "" {
		cfg.Contenders = strings.Split(*contenders, ",")
	}
	if cfg.Producers, err = intList(*producers); err != nil {
		return fmt.Errorf("-producers: %w", err)
	}
	if cfg.Sizes, err = intList(*sizes); err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}

	root, err := bench.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "logfanin-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.Dir = dir
	if cfg.Sidecar = *sidecarBin; cfg.Sidecar == "" {
		fmt.Fprintln(os.Stderr, "building the sidecar")
		if cfg.Sidecar, err = bench.BuildSidecar(dir); err != nil {
			return err
		}
	}
	want := cfg.Contenders == nil || strings.Contains(*contenders, "rsyslog")
	var rsNote string
	if want {
		cfg.Rsyslogd, rsNote = bench.FindRsyslogd(*install, os.Stderr)
		if rsNote != "" {
			fmt.Fprintln(os.Stderr, "rsyslog contender skipped:", rsNote)
		}
	}

	started := time.Now()
	results, err := bench.Run(cfg)
	if err != nil {
		return err
	}
	for i := range results {
		if results[i].Contender == "rsyslog" && cfg.Rsyslogd == "" && rsNote != "" {
			results[i].Note = "skipped: " + rsNote
		}
	}

	var lats []*bench.Latency
	if *latency {
		lats = measureLatency(cfg, results, *latRate)
	}
	var mem *bench.Memory
	if *clients > 0 {
		fmt.Fprintf(os.Stderr, "memory: %d clients\n", *clients)
		m := bench.MeasureMemory(cfg, *clients, 5, 200)
		mem = &m
	}
	var goBench string
	if *gobench {
		fmt.Fprintln(os.Stderr, "go test -bench ./writer/")
		goBench = runGoBench(root)
	}

	var table bytes.Buffer
	bench.WriteTable(&table, results)
	fmt.Println()
	os.Stdout.Write(table.Bytes())
	fmt.Println()
	extras := extrasText(results, lats, mem)
	fmt.Print(extras)
	var lat *bench.Latency
	if len(lats) > 0 {
		lat = lats[0]
	}
	targets := bench.Targets(results, lat, mem, goBench)
	for _, t := range targets {
		fmt.Println(t.String())
	}

	if *md != "" {
		path := fromRoot(root, *md)
		cmdline := "go run ./stress/cmd/bench " + strings.Join(os.Args[1:], " ")
		if err := writeMarkdown(path, strings.TrimSpace(cmdline), started, cfg.ProducerProcs, results, extras, targets, goBench); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", *md)
	}
	if *chart != "" {
		if err := bench.WriteChart(fromRoot(root, *chart), results); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		fmt.Fprintln(os.Stderr, "wrote", *chart)
	}
	return nil
}

// fromRoot returns path as given if it is absolute, else joined to the
// module root: an absolute path is where the user wants the file, not a
// place under the checkout.
func fromRoot(root, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(root, path)
}

// measureLatency runs the fanin contender at half its measured throughput
// (4 producers and 200 B when that was measured, else the first fanin row;
// measured afresh if there is none), the target's point, then at a quarter
// of it, to show how the delay grows with the load, and last at half again
// with producer processes at the runtime's default GOMAXPROCS, to show what
// the producers' own threads cost the writer.
func measureLatency(cfg bench.Config, results []bench.Result, rate int) []*bench.Latency {
	var base *bench.Result
	for i, r := range results {
		if r.Contender == "fanin" && r.Err == nil && r.Elapsed > 0 {
			if base == nil || (r.Producers == 4 && r.Size == 200) {
				base = &results[i]
			}
		}
	}
	if base == nil && rate > 0 {
		base = &bench.Result{Producers: 4, Size: 200}
	}
	if base == nil {
		c := cfg
		c.Contenders, c.Producers, c.Sizes, c.Reps = []string{"fanin"}, []int{4}, []int{200}, 1
		c.Progress = os.Stderr
		rs, err := bench.Run(c)
		if err != nil || len(rs) == 0 || rs[0].Err != nil || rs[0].Elapsed == 0 {
			return []*bench.Latency{{Err: fmt.Errorf("no fanin throughput to halve: %v", err)}}
		}
		base = &rs[0]
	}
	if rate <= 0 {
		rate = int(base.RecordsPerSec() / 2)
	}
	type point struct{ rate, procs int }
	points := []point{{rate, cfg.ProducerProcs}, {rate / 2, cfg.ProducerProcs}}
	if cfg.ProducerProcs > 0 {
		points = append(points, point{rate, -1})
	}
	var ls []*bench.Latency
	for _, pt := range points {
		c := cfg
		c.ProducerProcs = pt.procs
		var runs []bench.Latency
		for rep := range max(cfg.Reps, 1) {
			fmt.Fprintf(os.Stderr, "latency: fanin, %d producers at %s, %d B, %d records/s, rep %d\n", base.Producers, bench.ProcsName(pt.procs), base.Size, pt.rate, rep+1)
			l := bench.MeasureLatency(c, base.Producers, base.Size, pt.rate, 3*time.Second)
			if l.Err != nil {
				runs = []bench.Latency{l}
				break
			}
			runs = append(runs, l)
		}
		ls = append(ls, medianLatency(runs))
	}
	return ls
}

// medianLatency returns the run with the median p99, noting every run's
// p99 in it: one run's tail says as much about the machine's neighbours
// as about the code.
func medianLatency(runs []bench.Latency) *bench.Latency {
	slices.SortFunc(runs, func(a, b bench.Latency) int { return cmp.Compare(a.P99, b.P99) })
	m := runs[len(runs)/2]
	for _, r := range runs {
		m.P99s = append(m.P99s, r.P99)
	}
	return &m
}

func extrasText(results []bench.Result, lats []*bench.Latency, mem *bench.Memory) string {
	var b strings.Builder
	if d := bench.DirectRatios(results); d != "" {
		fmt.Fprintln(&b, d)
	}
	for _, lat := range lats {
		if lat.Err != nil {
			fmt.Fprintf(&b, "Latency: error: %v\n", lat.Err)
		} else {
			fmt.Fprintf(&b, "Latency (fanin, %d producers at %s, %d B, %d records/s, %d records): p50 %v, p99 %v, max %v; missing %d, torn %d",
				lat.Producers, bench.ProcsName(lat.ProducerProcs), lat.Size, lat.Rate, lat.Records, lat.P50.Round(time.Microsecond), lat.P99.Round(time.Microsecond), lat.Max.Round(time.Microsecond), lat.Missing, lat.Torn)
			if len(lat.P99s) > 1 {
				var ps []string
				for _, p := range lat.P99s {
					ps = append(ps, p.Round(time.Microsecond).String())
				}
				fmt.Fprintf(&b, " (the run with the median p99 of %d: %s)", len(ps), strings.Join(ps, ", "))
			}
			b.WriteByte('\n')
		}
	}
	if mem != nil {
		if mem.Err != nil {
			fmt.Fprintf(&b, "Writer memory: error: %v\n", mem.Err)
		} else {
			fmt.Fprintf(&b, "Writer memory (%d clients connected at once, %d records of %d B each, max record %d KiB): peak RSS %.1f MiB, CPU %v; missing %d, torn %d\n",
				mem.Clients, mem.PerClient, mem.Size, mem.MaxRecord>>10, float64(mem.PeakRSS)/(1<<20), mem.CPU.Round(time.Millisecond), mem.Missing, mem.Torn)
		}
	}
	return b.String()
}

func runGoBench(root string) string {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^(BenchmarkFormat|BenchmarkPipeline)$", "-benchmem", "-benchtime", "1s", "./writer/")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "go test -bench failed: " + err.Error() + "\n" + out.String()
	}
	var keep []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "cpu:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b)
	if m == nil {
		return "unknown"
	}
	return string(m[1])
}

func writeMarkdown(path, cmdline string, started time.Time, procs int, results []bench.Result, extras string, targets []bench.Target, goBench string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `%s` (see `go doc ./stress/cmd/bench`); rerun it to refresh this file and `bench.png`.\n\n", cmdline)
	fmt.Fprintf(&b, "- date: %s\n- machine: %d CPUs, %s\n- %s, %s/%s\n\n", started.UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "## Targets\n\nMeasured as ratios within this one run (4 producers, 200 B records unless said). Each repetition runs every contender in turn; a ratio is the median of the repetitions' ratios, the medians of the throughputs beside it.\n\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "- %s\n", t.String())
	}
	fmt.Fprintf(&b, "\n## Throughput\n\n![records/s per contender and record size](bench.png)\n\n")
	bench.WriteMarkdownTable(&b, results)
	fmt.Fprintf(&b, "\n%s\n", columnNotes)
	fmt.Fprintf(&b, "## Contenders\n\n")
	threads := "at " + bench.ProcsName(procs)
	if procs == 1 {
		threads += ", a single-threaded worker as in a prefork or multiprocessing pool"
	}
	fmt.Fprintf(&b, "Every producer is a process of its own with one goroutine logging, %s; only `zap` and `zap-buffered` run their producers as goroutines of one process, at the default GOMAXPROCS.\n\n", threads)
	bench.WriteContenders(&b, results)
	if extras != "" {
		fmt.Fprintf(&b, "\n## Direct mode, latency and writer memory\n\n")
		for _, l := range strings.Split(strings.TrimSpace(extras), "\n") {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	if goBench != "" {
		fmt.Fprintf(&b, "\n## Writer micro-benchmarks\n\n`go test -run '^$' -bench '^(BenchmarkFormat|BenchmarkPipeline)$' -benchmem ./writer/`:\n\n```\n%s\n```\n", goBench)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

const columnNotes = `Columns: **size** is the target record size and **rec B** the mean size of an output line (the fan-in stream rows carry the writer's ack session fields, logfanin_sid and logfanin_seq; the raw rows are pre-encoded logcheck lines without zap's fields).
**records/s** and **MB/s** count from the start signal to the moment every record is in the output (for the sidecar: its exit after SIGTERM, drain included; for rsyslog: the output holding every line).
**x zap** and **x rsyslog** divide records/s by those of the zap and rsyslog rows with the same producers and size.
**rec/write** is records per write(2) of the writer (from the sidecar's stats line; 1 for the contenders that write each record themselves; - where unknown).
**writer CPU s/M** is user+system CPU seconds per million records of the process that writes the file: the sidecar, rsyslogd or the obvious fan-in, and for the contenders without a writer process the producers themselves (summed). CPU is counted from the start signal on: what a process spends starting up and setting up is left out (for the writer process, where /proc says what it used before the start).
**writer RSS MiB** is that process's peak resident set (VmHWM; the largest producer's for contenders without a writer process). **prod CPU s/M** is the producers' CPU.
**missing** and **torn** are logcheck's counts summed over every repetition (torn includes interleaved lines).
`

var _ = io.Discard
