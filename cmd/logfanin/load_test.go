package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/sink"
)

// envReady makes a load producer print "ready" on its standard output
// once that many of its records have been accepted by Write.
const envReady = "LOGFANIN_TEST_READY"

// loadReport is the last line a load producer prints.
type loadReport struct {
	Written int    `json:"written"` // records Write accepted
	Sent    uint64 `json:"sent"`    // Stats().Sent: acknowledged (with acks) or handed over
	Lost    uint64 `json:"lost"`    // Stats().Lost
	Dropped uint64 `json:"dropped"` // Stats().Dropped
	Err     string `json:"err"`     // the error of Close, if any
}

// openTestSink opens a Sink for addr, which is an address or a logfanin:
// sink URL carrying options (ack=false, close_timeout=…).
func openTestSink(addr string) (*sink.Sink, error) {
	if !strings.HasPrefix(addr, sink.Scheme+":") {
		return sink.New(addr)
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, err
	}
	a, opts, err := sink.ParseURL(u)
	if err != nil {
		return nil, err
	}
	return sink.New(a, opts...)
}

// loadProducer writes logcheck records like produce, to the address or
// sink URL in LOGFANIN_TEST_ADDR. With LOGFANIN_TEST_RECORDS=0 it writes
// until its standard input reaches end of file. It prints "ready" after
// LOGFANIN_TEST_READY records and, after Close, a JSON loadReport line.
// It exits 0 if Close returned nil, 3 if it reported undelivered records.
func loadProducer() int {
	id, _ := strconv.Atoi(os.Getenv(envProducer))
	n, _ := strconv.Atoi(os.Getenv(envRecords))
	maxSize, _ := strconv.Atoi(os.Getenv(envMaxSize))
	readyAfter, _ := strconv.Atoi(os.Getenv(envReady))
	s, err := openTestSink(os.Getenv("LOGFANIN_TEST_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		return 1
	}
	var stop atomic.Bool
	loopDone := make(chan struct{})
	if n == 0 {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop.Store(true)
			// A Write blocked on a full buffer (the writer is gone) ends
			// only when the Sink is closed.
			select {
			case <-loopDone:
			case <-time.After(time.Second):
				s.Close()
			}
		}()
	}
	sizes := logcheck.Sizes(uint64(id), 1000, maxSize)
	if n > 0 {
		sizes = logcheck.Sizes(uint64(id), n, maxSize)
	}
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	var rec []byte
	written := 0
	for seq := 0; (n == 0 || seq < n) && !stop.Load(); seq++ {
		rec = logcheck.Make(rec[:0], id, seq, sizes[seq%len(sizes)], rng)
		if _, err := s.Write(rec); err != nil {
			if errors.Is(err, sink.ErrClosed) {
				break
			}
			fmt.Fprintln(os.Stderr, "producer:", err)
			return 1
		}
		written++
		if written == readyAfter {
			// Ready means connected and acknowledged, not just buffered.
			if err := s.Sync(); err != nil {
				fmt.Fprintln(os.Stderr, "producer:", err)
				return 1
			}
			fmt.Println("ready")
		}
	}
	close(loopDone)
	cerr := s.Close()
	st := s.Stats()
	rep := loadReport{Written: written, Sent: st.Sent, Lost: st.Lost, Dropped: st.Dropped}
	if cerr != nil {
		rep.Err = cerr.Error()
	}
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	if cerr != nil {
		return 3
	}
	return 0
}

// loadProc is a running load producer.
type loadProc struct {
	id     int
	cmd    *exec.Cmd
	stderr *bytes.Buffer // read it only after wait
	stdin  io.WriteCloser
	ready  chan struct{} // closed when it printed "ready"
	exited chan struct{} // closed when its standard output ended
	report *loadReport   // its last line, valid after exited
}

// startLoad starts a load producer with id sending to addr (an address
// or a sink URL). records 0 means until stop is called.
func startLoad(t *testing.T, id int, addr string, records, maxSize, readyAfter int, extra ...*os.File) *loadProc {
	t.Helper()
	cmd := self()
	cmd.Env = append(os.Environ(), envRole+"=loadproducer", envProducer+"="+strconv.Itoa(id),
		envRecords+"="+strconv.Itoa(records), envMaxSize+"="+strconv.Itoa(maxSize),
		envReady+"="+strconv.Itoa(readyAfter), "LOGFANIN_TEST_ADDR="+addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.ExtraFiles = extra
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &loadProc{id: id, cmd: cmd, stderr: &stderr, stdin: stdin, ready: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "ready" {
				close(p.ready)
				continue
			}
			var r loadReport
			if json.Unmarshal([]byte(line), &r) == nil {
				p.report = &r
			}
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.stdin.Close()
			<-p.exited
			p.cmd.Wait()
		}
	})
	return p
}

// waitReady waits until the producer has written its first records.
func (p *loadProc) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-p.ready:
	case <-p.exited:
		p.cmd.Wait()
		t.Fatalf("producer %d ended before it was ready:\n%s", p.id, p.stderr)
	}
}

// stop tells an endless producer to stop writing and close its Sink.
func (p *loadProc) stop() { p.stdin.Close() }

// wait waits for the producer to exit and returns its exit status and
// report.
func (p *loadProc) wait(t *testing.T) (int, loadReport) {
	t.Helper()
	<-p.exited
	err := p.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("producer %d: %v\n%s", p.id, err, p.stderr)
	}
	if p.report == nil {
		t.Fatalf("producer %d exited %d without a report:\n%s", p.id, code, p.stderr)
	}
	return code, *p.report
}

// foundPrefix returns, for each producer, one more than the highest
// sequence number of its records found intact enough to parse in the
// output files.
func foundPrefix(t *testing.T, files ...string) map[int]int {
	t.Helper()
	next := map[int]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReaderSize(fh, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				var rec struct {
					P *int `json:"p"`
					S int  `json:"s"`
				}
				if json.Unmarshal(line, &rec) == nil && rec.P != nil && rec.S+1 > next[*rec.P] {
					next[*rec.P] = rec.S + 1
				}
			}
			if err != nil {
				break
			}
		}
		fh.Close()
	}
	return next
}

// checkPrefixes verifies that the output holds, for every producer, exactly
// the records 0 … L-1 of its sequence for some L (none missing before the
// last one found, none torn, duplicated or reordered), and returns L per
// producer.
func checkPrefixes(t *testing.T, ids []int, files ...string) map[int]int {
	t.Helper()
	found := foundPrefix(t, files...)
	expect := map[int]int{}
	for _, id := range ids {
		expect[id] = found[id]
	}
	rep, err := logcheck.CheckFiles(expect, files...)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("output is not a prefix of each producer's records: %v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	t.Logf("verified prefixes: %v", rep)
	return expect
}
