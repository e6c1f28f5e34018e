package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/forward"
	"github.com/logfanin/logfanin/sink"
)

// The throughput of -forward beside the writer's, in one run: 4 producer
// processes send records of 200 bytes through the sink (with
// acknowledgements, so that a producer is done when its records are
// written) to a supervised sidecar that forwards to the Collector's OTLP
// receiver on this machine. LOGFANIN_FORWARD_BENCH=N sends N records per
// producer (default 5000, a smoke run) and prints the row. Then the
// forwarder alone, in this process, ships the file the writer wrote
// without it: its own rate and CPU per record, with no writer and no
// producers on the machine. Both runs also report the receiver's CPU per
// record (from /proc, in ticks of 10 ms: a figure for runs of 100 000
// records or more, not for the smoke run).
func TestForwardThroughput(t *testing.T) {
	per := 5000
	if v := os.Getenv("LOGFANIN_FORWARD_BENCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("LOGFANIN_FORWARD_BENCH=%q", v)
		}
		per = n
	}
	const producers = 4
	total := producers * per

	// The writer alone, for the CPU the forwarding adds.
	plain := benchRun(t, nil, producers, per)
	r := newReceiver(t, "-count")
	r.start("accept")
	recv0, ok0 := r.cpu()
	fwd := benchRun(t, r, producers, per)
	recv1, ok1 := r.cpu()
	recvRun := perRecord(recv1-recv0, ok0 && ok1, total)

	writerRate := float64(total) / fwd.written.Seconds()
	shipRate := float64(total) / fwd.shipped.Seconds()
	cpu := (fwd.cpu - plain.cpu) / time.Duration(total)
	t.Logf("forward: %d producers, 200 B: writer %.0f records/s, shipped %.0f records/s, ratio %.2fx; forwarding CPU %v per record (sidecar CPU %v with, %v without); the receiver's CPU %v per record",
		producers, writerRate, shipRate, shipRate/writerRate, cpu, fwd.cpu, plain.cpu, recvRun)
	if os.Getenv("LOGFANIN_FORWARD_BENCH") != "" {
		fmt.Printf("| forward (OTLP/gRPC, local receiver) | %d | %.0f | %.0f | %.2fx | %.2f µs |\n",
			producers, writerRate, shipRate, shipRate/writerRate, float64(cpu)/float64(time.Microsecond))
	}

	recv0, ok0 = r.cpu()
	alone, aloneCPU := forwardAlone(t, r, plain.log, total)
	recv1, ok1 = r.cpu()
	recvAlone := perRecord(recv1-recv0, ok0 && ok1, total)
	aloneRate := float64(total) / alone.Seconds()
	// On a machine of two cores, the forwarder and the receiver share
	// them: the receiver's CPU per record bounds the rate as much as the
	// forwarder's does.
	t.Logf("forwarder alone: %d records written beforehand, shipped %.0f records/s (%.2fx the writer's rate above), CPU %v per record; the receiver's CPU %v per record",
		total, aloneRate, aloneRate/writerRate, aloneCPU/time.Duration(total), recvAlone)
	if os.Getenv("LOGFANIN_FORWARD_BENCH") != "" {
		fmt.Printf("| forwarder alone, the file written beforehand | - | - | %.0f | %.2fx | %.2f µs |\n",
			aloneRate, aloneRate/writerRate, float64(aloneCPU)/float64(total)/float64(time.Microsecond))
	}
}

// forwardAlone ships the log file, written whole beforehand, to r with a
// Forwarder in this process, and returns how long until r had all of its
// records and the CPU time this process spent meanwhile.
func forwardAlone(t *testing.T, r *receiver, log string, records int) (time.Duration, time.Duration) {
	t.Helper()
	f, err := forward.New(forward.Config{URL: "otlp://" + r.grpc, Path: log, Diagnostics: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	before := r.count("batch records")
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	f.Start()
	r.waitEvent("batch records", before+records)
	elapsed := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(); s.Forwarded != uint64(records) {
		t.Fatalf("forwarder alone: %v, want %d records", s, records)
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	return elapsed, cpu
}

type benchResult struct {
	written, shipped time.Duration // from the producers' start
	cpu              time.Duration // the sidecar's user and system time
	log              string        // the file written
}

// benchRun runs the sidecar supervising the producers, forwarding to r if
// not nil, and waits until the receiver has every record.
func benchRun(t *testing.T, r *receiver, producers, per int) benchResult {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	timing := filepath.Join(dir, "timing")
	args := []string{"-out", log, "-quiet"}
	if r != nil {
		args = []string{"-out", log, "-quiet", "-forward", "otlp://" + r.grpc, "-forward-drain-timeout", "10m"}
		// To compare settings: LOGFANIN_FORWARD_FLAGS="-forward-in-flight 1".
		args = append(args, strings.Fields(os.Getenv("LOGFANIN_FORWARD_FLAGS"))...)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(logfaninBin, append(args, "--", exe)...)
	cmd.Env = append(os.Environ(), "E2E_ROLE=fanout", "E2E_PRODUCERS="+strconv.Itoa(producers), "E2E_N="+strconv.Itoa(per), "E2E_TIMING="+timing)
	var stderr lockedBuf
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var shipped time.Duration
	if r != nil {
		r.waitEvent("batch records", producers*per)
		shipped = time.Since(start)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logfanin: %v\n%s", err, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	data, err := os.ReadFile(timing)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		t.Fatalf("timing %q", data)
	}
	began, _ := strconv.ParseInt(fields[0], 10, 64)
	ended, _ := strconv.ParseInt(fields[1], 10, 64)
	// The producers start after the sidecar: count from their start.
	offset := time.Unix(0, began).Sub(start)
	return benchResult{written: time.Duration(ended - began), shipped: shipped - offset, cpu: cpu, log: log}
}

// perRecord is cpu over n records, or "n/a" if it was not measured (ok
// false: no /proc here).
func perRecord(cpu time.Duration, ok bool, n int) string {
	if !ok {
		return "n/a"
	}
	return (cpu / time.Duration(n)).String()
}

// fanout is the supervised command of a throughput run: it starts
// E2E_PRODUCERS producers and writes to E2E_TIMING when they started and
// when the last one's records were all written.
func fanout() {
	n, _ := strconv.Atoi(os.Getenv("E2E_PRODUCERS"))
	exe, _ := os.Executable()
	began := time.Now()
	var wg sync.WaitGroup
	failed := false
	var mu sync.Mutex
	for i := range n {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "E2E_ROLE=sinkproduce", "E2E_FROM="+strconv.Itoa(i*1000000))
		cmd.Stderr = os.Stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				mu.Lock()
				failed = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ended := time.Now()
	if failed {
		os.Exit(1)
	}
	os.WriteFile(os.Getenv("E2E_TIMING"), []byte(fmt.Sprintf("%d %d\n", began.UnixNano(), ended.UnixNano())), 0o600)
}

// sinkProduce sends E2E_N records of 200 bytes through the sink, with
// acknowledgements: Close returns once the writer has written them.
func sinkProduce() {
	from, _ := strconv.Atoi(os.Getenv("E2E_FROM"))
	n, _ := strconv.Atoi(os.Getenv("E2E_N"))
	s, err := sink.New(os.Getenv("LOGFANIN_ADDR"), sink.WithAck(true))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pad := strings.Repeat("x", 200)
	buf := make([]byte, 0, 256)
	for i := from; i < from+n; i++ {
		buf = fmt.Appendf(buf[:0], `{"level":"info","ts":%d.5,"msg":"bench","i":%d,"pad":"`, 1700000000+i%1000, i)
		buf = append(buf, pad[:200-len(buf)-3]...)
		buf = append(buf, "\"}\n"...)
		if _, err := s.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
