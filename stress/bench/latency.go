package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
)

// Latency is the delay from a producer's Write call to the record leaving
// the writer's output descriptor, measured on the fanin contender with the
// producers held to a fixed rate.
type Latency struct {
	Producers, Size int
	Rate            int // records per second, all producers together
	ProducerProcs   int // GOMAXPROCS of each producer process (-1: the runtime's default)
	Records         int
	Timed           int // records whose stamp came out
	P50, P99, Max   time.Duration
	P99s            []time.Duration // with repetitions: the p99 of each run
	Missing, Torn   int
	Err             error
}

// MeasureLatency runs the fanin contender with the sidecar writing to a
// descriptor that this process reads (stampedOutput): each producer stamps
// its records with the wall-clock time of the Write call, and the delay
// runs to the time the kernel took the sidecar's write(2) of the line.
// rate is the total records per second; the run lasts about d.
func MeasureLatency(cfg Config, producers, size, rate int, d time.Duration) (l Latency) {
	l = Latency{Producers: producers, Size: size, Rate: rate}
	if err := cfg.fill(); err != nil {
		l.Err = err
		return l
	}
	l.ProducerProcs = cfg.ProducerProcs
	perProducer := max(int(float64(rate)*d.Seconds())/producers, 1)
	l.Records = perProducer * producers
	dir, err := os.MkdirTemp(cfg.Dir, "latency-")
	if err != nil {
		l.Err = err
		return l
	}
	defer os.RemoveAll(dir)
	// The output is kept in memory and checked after the run: writing it
	// to a file would make the instrument a noticeable share of the load.
	var out bytes.Buffer
	out.Grow(l.Records * (size + 200))

	so, err := newStampedOutput()
	if err != nil {
		l.Err = err
		return l
	}
	sc, err := startSidecarArgs(cfg.Sidecar, "unix", dir, []string{"-out", "-"}, so.W)
	so.W.Close()
	if err != nil {
		so.close()
		l.Err = err
		return l
	}
	lats := make([]time.Duration, 0, l.Records)
	readDone := make(chan error, 1)
	go func() {
		readDone <- so.read(&out, func(line []byte, at int64) {
			if t := stampOf(line); t > 0 {
				lats = append(lats, time.Duration(at-t))
			}
		})
	}()

	base := job{Contender: "fanin", Records: perProducer, Size: size, Addr: sc.addr, Rate: max(rate/producers, 1), Stamp: true}
	var children []*child
	var errs []error
	for p := range producers {
		j := base
		j.Producers = []int{p}
		ch, err := startChild(&cfg, j, nil)
		if err != nil {
			errs = append(errs, err)
			break
		}
		children = append(children, ch)
	}
	for _, ch := range children {
		ch.stdin.Close()
	}
	for _, ch := range children {
		if _, _, err := ch.wait(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := sc.finish(l.Records); err != nil {
		errs = append(errs, err)
	}
	if err := <-readDone; err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		l.Err = errors.Join(errs...)
		return l
	}
	expect := make(map[int]int, producers)
	for p := range producers {
		expect[p] = perProducer
	}
	ck := logcheck.NewChecker(expect)
	if err := ck.Scan(&out); err != nil {
		l.Err = err
		return l
	}
	rep := ck.Report()
	l.Missing, l.Torn = rep.Missing, rep.Torn+rep.Interleaved
	if len(lats) == 0 {
		l.Err = fmt.Errorf("no stamped record came out")
		return l
	}
	l.Timed = len(lats)
	slices.Sort(lats)
	l.P50 = lats[len(lats)/2]
	l.P99 = lats[len(lats)*99/100]
	l.Max = lats[len(lats)-1]
	return l
}

// stampOf returns the "t" field of a line, or 0.
func stampOf(line []byte) int64 {
	i := bytes.Index(line, []byte(`,"t":`))
	if i < 0 {
		return 0
	}
	rest := line[i+5:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	t, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
	return t
}

// Memory is the sidecar's peak resident set while many clients are
// connected at once.
type Memory struct {
	Clients, PerClient, Size int
	MaxRecord                int // the sidecar's record limit (its default)
	PeakRSS                  int64
	CPU                      time.Duration
	Missing, Torn            int
	Err                      error
}

// MeasureMemory starts the sidecar with its default limits and one process
// holding clients stream connections (package sink, acks on), each sending
// perClient records of size bytes, and reports the sidecar's peak RSS.
func MeasureMemory(cfg Config, clients, perClient, size int) (m Memory) {
	m = Memory{Clients: clients, PerClient: perClient, Size: size, MaxRecord: 1 << 20}
	if err := cfg.fill(); err != nil {
		m.Err = err
		return m
	}
	dir, err := os.MkdirTemp(cfg.Dir, "memory-")
	if err != nil {
		m.Err = err
		return m
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.log")
	sc, err := startSidecar(cfg.Sidecar, "unix", dir, out)
	if err != nil {
		m.Err = err
		return m
	}
	ch, err := startChild(&cfg, job{Contender: "clients", Clients: clients, Records: perClient, Size: size, Addr: sc.addr}, nil)
	if err != nil {
		sc.kill()
		m.Err = err
		return m
	}
	ch.stdin.Close()
	_, _, cerr := ch.wait()
	ws, err := sc.finish(clients * perClient)
	if err = errors.Join(cerr, err); err != nil {
		m.Err = err
		return m
	}
	m.PeakRSS = ws.peakRSS
	m.CPU = cpu(ws.ru)
	expect := make(map[int]int, clients)
	for c := range clients {
		expect[c] = perClient
	}
	rep, err := logcheck.CheckFiles(expect, out)
	if err != nil {
		m.Err = err
		return m
	}
	m.Missing, m.Torn = rep.Missing, rep.Torn+rep.Interleaved
	return m
}
