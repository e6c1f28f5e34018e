package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/logfanin/logfanin/internal/proccpu"
	"github.com/logfanin/logfanin/stress"
)

// Result is one pattern's measurement.
type Result struct {
	Pattern   string
	Ops       int           // the attacker's units of work: records, bytes, datagrams, connections
	ClientCPU time.Duration // user + system time of the attacker process
	WriterCPU time.Duration // user + system time of the writer during the attack and the drain after it
	CutOff    bool          // the writer closed the attacker's connection with an error frame
	Stats     string        // the writer's summary line at exit
}

// Amplification is the writer's CPU time per CPU time of the client.
func (r Result) Amplification() float64 {
	if r.ClientCPU <= 0 {
		return 0
	}
	return float64(r.WriterCPU) / float64(r.ClientCPU)
}

const (
	envAttack = "LOGFANIN_HOSTILE_ATTACK" // pattern name and duration of an attacker process
	envStream = "LOGFANIN_HOSTILE_STREAM"
	envDgram  = "LOGFANIN_HOSTILE_DGRAM"
)

type report struct {
	Ops int
	Cut bool
	Err string
}

// Child runs the attacker described by the environment, if any, and
// exits. It returns only when the process is not an attacker. The command
// calls it first thing in main, the test in TestMain.
func Child() {
	spec := os.Getenv(envAttack)
	if spec == "" {
		return
	}
	name, d, _ := strings.Cut(spec, ",")
	p, ok := PatternNamed(name)
	dur, err := time.ParseDuration(d)
	if !ok || err != nil {
		fmt.Fprintf(os.Stderr, "hostile: bad attack %q\n", spec)
		os.Exit(2)
	}
	t := &target{stream: os.Getenv(envStream), dgram: os.Getenv(envDgram), pipe: os.NewFile(3, "pipe")}
	ops, cut, err := p.attack(t, time.Now().Add(dur))
	rep := report{Ops: ops, Cut: cut}
	if err != nil {
		rep.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	os.Exit(0)
}

// Run starts the sidecar bin on a stream socket, a datagram socket and a
// pipe in dir, runs pattern p against it from one attacker process (this
// program, re-executed) for d, and measures both.
func Run(bin, dir string, p Pattern, d time.Duration) (Result, error) {
	res := Result{Pattern: p.Name}
	stream, dgram := filepath.Join(dir, "s.sock"), filepath.Join(dir, "d.sock")
	pr, pw, err := os.Pipe()
	if err != nil {
		return res, err
	}
	defer pw.Close()
	w := exec.Command(bin, "-listen", "unix://"+stream, "-listen", "unixgram://"+dgram, "-listen", "fd:3",
		"-out", filepath.Join(dir, "out.log"), "-max-size", "64")
	w.ExtraFiles = []*os.File{pr}
	var wout bytes.Buffer
	w.Stderr = &wout
	w.SysProcAttr = dieWithParent()
	if err := w.Start(); err != nil {
		pr.Close()
		return res, fmt.Errorf("start the writer: %w", err)
	}
	pr.Close()
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = w.Wait(); close(exited) }()
	defer func() { w.Process.Kill(); <-exited }()
	for _, s := range []string{"unix://" + stream, "unixgram://" + dgram} {
		if err := stress.WaitSocket(context.Background(), s, exited); err != nil {
			return res, fmt.Errorf("the writer's socket: %w\n%s", err, wout.String())
		}
	}
	before, err := proccpu.Of(w.Process.Pid)
	if err != nil {
		return res, err
	}

	a := exec.Command(os.Args[0])
	a.Env = append(os.Environ(), envAttack+"="+p.Name+","+d.String(), envStream+"="+stream, envDgram+"="+dgram)
	a.ExtraFiles = []*os.File{pw}
	var aout, aerr bytes.Buffer
	a.Stdout, a.Stderr = &aout, &aerr
	a.SysProcAttr = dieWithParent()
	if err := a.Run(); err != nil {
		return res, fmt.Errorf("attacker %s: %w\n%s", p.Name, err, aerr.String())
	}
	pw.Close()
	var rep report
	if err := json.Unmarshal(aout.Bytes(), &rep); err != nil {
		return res, fmt.Errorf("attacker %s: %w: %q", p.Name, err, aout.String())
	}
	if rep.Err != "" {
		return res, fmt.Errorf("attacker %s: %s", p.Name, rep.Err)
	}
	res.Ops, res.CutOff = rep.Ops, rep.Cut
	res.ClientCPU = cpuTime(a.ProcessState)

	// The writer drains what the attack left queued, writes and exits:
	// its CPU from here on is the attack's too.
	w.Process.Signal(syscall.SIGTERM)
	<-exited
	if waitErr != nil {
		return res, fmt.Errorf("writer: %w\n%s", waitErr, wout.String())
	}
	res.WriterCPU = cpuTime(w.ProcessState) - before
	for _, l := range strings.Split(wout.String(), "\n") {
		if strings.HasPrefix(l, "logfanin: records=") {
			res.Stats = strings.TrimPrefix(l, "logfanin: ")
		}
	}
	return res, nil
}

func cpuTime(ps *os.ProcessState) time.Duration { return ps.UserTime() + ps.SystemTime() }
