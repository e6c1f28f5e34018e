package stress

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/wire"
)

// Config is one stress run: every mode in Modes, in turn, with Procs
// producer processes writing Records records each.
type Config struct {
	Modes   []Mode
	Procs   int    // producer processes per mode (4)
	Records int    // records per producer (1000)
	MaxSize int    // largest record in bytes (wire.DefaultMaxRecord, 1 MiB)
	Seed    uint64 // seed of every record size and body; see ModeSeed

	// Duration, if set, repeats the whole matrix with the seeds Seed,
	// Seed+1, … until it has run this long. One round always runs.
	Duration time.Duration

	// Dir is where the output files go, one directory per mode and
	// round, removed once verified unless Keep is set or the round
	// failed (a temporary directory if empty).
	Dir  string
	Keep bool

	// Sidecar is the logfanin binary the sidecar modes run; see
	// BuildSidecar.
	Sidecar string

	// Log receives the progress lines (none if nil); Progress is the
	// interval between two lines while a mode runs (10 s; negative for
	// none).
	Log      io.Writer
	Progress time.Duration
}

// Result is what one mode did, over every round.
type Result struct {
	Mode    Mode
	Procs   int // producer processes per round, the killed one included
	Rounds  int
	Records int64 // records written (those of killed producers before their death)
	Bytes   int64 // bytes of those records
	Elapsed time.Duration

	// Report sums the verifier's counts over the rounds; its Examples
	// are those of the first failed round.
	Report logcheck.Report
	// Partial is the partial records the writer reported discarding;
	// WantPartial how many producers were killed mid-record.
	Partial, WantPartial int
	// Failures lists what went wrong, one line per failed round,
	// with the seed that replays it.
	Failures []string
}

// OK reports whether the mode behaved: a safe mode must deliver every
// record intact, once and in order, and count every record a killed
// producer left half sent; a control must be caught.
func (r *Result) OK() bool {
	if r.Mode.Control {
		return r.Caught()
	}
	return len(r.Failures) == 0
}

// Caught reports whether the verifier found the output broken.
func (r *Result) Caught() bool {
	return r.Report.Torn+r.Report.Interleaved+r.Report.Missing+r.Report.Duplicated+r.Report.Reordered > 0
}

// ModeSeed is the seed one mode runs a round with: Seed+round mixed with
// the mode's name, so that modes get different records and a single mode
// can be replayed alone with the same -seed.
func ModeSeed(seed uint64, round int, mode string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, mode)
	return (seed + uint64(round)) ^ h.Sum64()
}

func (c *Config) defaults() {
	if c.Procs <= 0 {
		c.Procs = 4
	}
	if c.Records <= 0 {
		c.Records = 1000
	}
	if c.MaxSize <= 0 {
		c.MaxSize = wire.DefaultMaxRecord
	}
	c.MaxSize = max(c.MaxSize, logcheck.MinSize)
	if c.Progress == 0 {
		c.Progress = 10 * time.Second
	}
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run runs the matrix and returns one Result per mode. An error means the
// run itself could not be carried out (no sidecar, no directory); what
// the modes did is in the Results.
func Run(ctx context.Context, cfg Config) (_ []*Result, err error) {
	cfg.defaults()
	failed := false
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "logfanin-stress-")
		if err != nil {
			return nil, err
		}
		cfg.Dir = d
		// A failed round's output is kept for inspection.
		defer func() {
			if !failed {
				os.RemoveAll(d)
			}
		}()
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, m := range cfg.Modes {
		if (m.server == serverSidecar || m.server == serverSupervise) && cfg.Sidecar == "" {
			return nil, fmt.Errorf("stress: mode %s needs the logfanin binary (Config.Sidecar)", m.Name)
		}
	}
	results := make([]*Result, len(cfg.Modes))
	for i, m := range cfg.Modes {
		results[i] = &Result{Mode: m}
	}
	start := time.Now()
	for round := 0; round == 0 || time.Since(start) < cfg.Duration; round++ {
		for i, m := range cfg.Modes {
			if err := ctx.Err(); err != nil {
				return results, err
			}
			seed := ModeSeed(cfg.Seed, round, m.Name)
			dir := filepath.Join(cfg.Dir, fmt.Sprintf("%s-%d", m.Name, round))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return results, err
			}
			r := runRound(ctx, &cfg, m, seed, dir)
			results[i].add(r)
			verdict := "ok"
			switch {
			case m.Control && r.Caught():
				verdict = "caught, as it must be"
			case m.Control:
				verdict = "NOT CAUGHT: the verifier missed a naive writer"
			case !r.OK():
				verdict = "FAIL: " + strings.Join(r.Failures, "; ")
			}
			cfg.logf("%-20s round %d: %d records, %.1f MB in %.1fs: %s; %s",
				m.Name, round, r.Records, float64(r.Bytes)/1e6, r.Elapsed.Seconds(), r.Report, verdict)
			for _, ex := range r.Report.Examples {
				if !m.Control || !r.Caught() {
					cfg.logf("    %s", ex)
				}
			}
			if !r.OK() {
				failed = true
			}
			if r.OK() && !m.Control && !cfg.Keep {
				os.RemoveAll(dir)
			} else if m.Control && !cfg.Keep {
				os.RemoveAll(dir)
			}
		}
	}
	return results, nil
}

func (r *Result) add(o *Result) {
	if r.Rounds == 0 {
		r.Procs = o.Procs
		r.Report.Examples = o.Report.Examples
	}
	r.Rounds++
	r.Records += o.Records
	r.Bytes += o.Bytes
	r.Elapsed += o.Elapsed
	r.Partial += o.Partial
	r.WantPartial += o.WantPartial
	r.Failures = append(r.Failures, o.Failures...)
	if len(r.Report.Examples) == 0 {
		r.Report.Examples = o.Report.Examples
	}
	a, b := &r.Report, o.Report
	a.Expected += b.Expected
	a.Found += b.Found
	a.Missing += b.Missing
	a.Duplicated += b.Duplicated
	a.Torn += b.Torn
	a.Interleaved += b.Interleaved
	a.Reordered += b.Reordered
	a.Unexpected += b.Unexpected
	a.Lines += b.Lines
	a.Other += b.Other
}

// The least load a control runs with, whatever the Config says: every
// naive writer tears records under it in practice.
const (
	minControlProcs   = 4
	minControlRecords = 200
)

// round is one mode's run in progress.
type round struct {
	cfg    *Config
	mode   Mode
	seed   uint64
	dir    string
	out    string // the log file
	expect map[int]int
	fail   []string

	procsDone atomic.Int32
}

func (rd *round) failf(format string, args ...any) {
	rd.fail = append(rd.fail, fmt.Sprintf(format, args...))
}

// runRound runs one mode once and verifies its output.
func runRound(ctx context.Context, cfg *Config, m Mode, seed uint64, dir string) *Result {
	if m.Control {
		// Enough load that a naive writer tears records in practice.
		c := *cfg
		c.Procs, c.Records = max(c.Procs, minControlProcs), max(c.Records, minControlRecords)
		cfg = &c
	}
	rd := &round{cfg: cfg, mode: m, seed: seed, dir: dir, out: filepath.Join(dir, "app.log"), expect: map[int]int{}}
	res := &Result{Mode: m, Rounds: 1, Procs: cfg.Procs}
	if m.fault == faultKill {
		res.Procs++
		res.WantPartial = 1
	}
	replay := fmt.Sprintf("replay: -modes %s -procs %d -records %d -max-size %d -seed %d", m.Name, cfg.Procs, cfg.Records, cfg.MaxSize, seed^ModeSeed(0, 0, m.Name))
	start := time.Now()
	var err error
	switch m.server {
	case serverSidecar:
		res.Partial, err = rd.sidecar(ctx)
	case serverSupervise:
		res.Partial, err = rd.supervise(ctx)
	case serverWriter:
		res.Partial, err = rd.writer(ctx)
	case serverDirect:
		err = rd.direct(ctx)
	case serverNaive:
		err = rd.naive(ctx)
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		rd.failf("%v", err)
	}
	if !m.Control && res.Partial != res.WantPartial {
		rd.failf("the writer counted %d partial records, want %d (the killed producer's)", res.Partial, res.WantPartial)
	}
	for p, n := range rd.expect {
		res.Records += int64(n)
		for _, s := range sizes(seed, p, n, rd.maxSize(p)) {
			res.Bytes += int64(s)
		}
	}
	rep, err := logcheck.CheckLog(rd.expect, rd.out)
	if err != nil {
		rd.failf("verify: %v", err)
	}
	res.Report = rep
	if !rep.OK() && !m.Control {
		rd.failf("verify: %v", rep)
	}
	if len(rd.fail) > 0 {
		res.Failures = []string{strings.Join(rd.fail, "; ") + " (" + replay + ", output in " + dir + ")"}
	}
	return res
}

// maxSize is the largest record producer p writes: datagrams are capped
// by the socket buffer.
func (rd *round) maxSize(p int) int {
	if rd.mode.transport == wire.Datagram {
		return min(rd.cfg.MaxSize, datagramLimit())
	}
	return rd.cfg.MaxSize
}

// spec returns what producer p does in this round, writing records to
// addr (fan-in) or to the log file.
func (rd *round) spec(p int, addr string) spec {
	return spec{Mode: rd.mode.Name, Producer: p, Records: rd.cfg.Records, MaxSize: rd.maxSize(p),
		Seed: rd.seed, Addr: addr, Path: rd.out, Ack: p%2 == 0}
}

// command returns the command of the producer sp and expects its records.
func (rd *round) command(sp spec) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envChild+"="+mustJSON(sp))
	cmd.Stderr = &tailBuffer{max: 4 << 10}
	rd.expect[sp.Producer] = sp.Records
	return cmd, nil
}

// waitProducer waits for cmd and returns its error with the end of what
// it wrote to standard error.
func waitProducer(p int, cmd *exec.Cmd) error {
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("producer %d: %w: %s", p, err, strings.TrimSpace(cmd.Stderr.(*tailBuffer).String()))
	}
	return nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// runProducers starts cfg.Procs producers (and the one to be killed, if
// the mode has that fault), waits for all of them and returns the first
// error. extra holds files the producers inherit from descriptor 3 on.
func (rd *round) runProducers(ctx context.Context, addr string, extra ...*os.File) error {
	var cmds []*exec.Cmd
	for p := range rd.cfg.Procs {
		cmd, err := rd.command(rd.spec(p, addr))
		if err != nil {
			return err
		}
		cmd.ExtraFiles = extra
		cmds = append(cmds, cmd)
	}
	// The producers wait on their standard input, a pipe closed once
	// all have started, so that they all write at the same time.
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer gateW.Close()
	var victim *exec.Cmd
	var victimOut *bufio.Reader
	if rd.mode.fault == faultKill {
		if victim, err = rd.victim(rd.cfg.Procs, addr, extra); err != nil {
			gateR.Close()
			return err
		}
		out, err := victim.StdoutPipe()
		if err != nil {
			gateR.Close()
			return err
		}
		victimOut = bufio.NewReader(out)
		cmds = append(cmds, victim)
	}
	var errs []error
	started := 0
	for _, cmd := range cmds {
		cmd.Stdin = gateR
		if err := cmd.Start(); err != nil {
			errs = append(errs, err)
			break
		}
		started++
	}
	gateR.Close()
	gateW.Close()
	cmds = cmds[:started]
	stop := rd.watch(ctx)
	defer stop()
	if victim != nil && started == len(cmds) && len(errs) == 0 {
		cmds = cmds[:len(cmds)-1]
		errs = append(errs, rd.kill(victim, victimOut))
	}
	for i, cmd := range cmds {
		errs = append(errs, waitProducer(i, cmd))
		rd.procsDone.Add(1)
	}
	return errors.Join(errs...)
}
