package e2e

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/e2e/otlprecv/record"
	"github.com/logfanin/logfanin/internal/backups"
	"github.com/logfanin/logfanin/internal/proccpu"
)

// The binaries under test, built once by TestMain: the sidecar and the
// OpenTelemetry Collector's OTLP receiver (./otlprecv).
var logfaninBin, recvBin string

func TestMain(m *testing.M) {
	switch os.Getenv("E2E_ROLE") {
	case "produce":
		produce()
		return
	case "fanout":
		fanout()
		return
	case "sinkproduce":
		sinkProduce()
		return
	}
	dir, err := os.MkdirTemp("", "logfanin-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	logfaninBin = filepath.Join(dir, "logfanin")
	recvBin = filepath.Join(dir, "otlprecv")
	// The sidecar is built in its own module, with its own go.sum.
	for _, b := range [][3]string{{"..", logfaninBin, "./cmd/logfanin"}, {".", recvBin, "./otlprecv"}} {
		cmd := exec.Command("go", "build", "-C", b[0], "-o", b[1], b[2])
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", b[2], err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pad makes a record about 200 bytes long.
var pad = strings.Repeat("p", 120)

// produce is the child of a supervised sidecar: it prints E2E_N records
// numbered from E2E_FROM on its standard output, then, with E2E_HOLD,
// waits for its standard input to close.
func produce() {
	from, _ := strconv.Atoi(os.Getenv("E2E_FROM"))
	n, _ := strconv.Atoi(os.Getenv("E2E_N"))
	w := bufio.NewWriter(os.Stdout)
	for i := from; i < from+n; i++ {
		fmt.Fprintf(w, `{"level":"info","ts":%d.25,"msg":"record %d","i":%d,"pad":%q}`+"\n", 1700000000+i, i, i, pad)
	}
	if err := w.Flush(); err != nil {
		os.Exit(1)
	}
	if os.Getenv("E2E_HOLD") != "" {
		io.Copy(io.Discard, os.Stdin)
	}
}

// freeAddr returns a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// got is one record as the receiver printed it.
type got = record.Record

// receiver is a running otlprecv and what it received, over all its
// restarts.
type receiver struct {
	t        *testing.T
	grpc     string
	http     string
	extra    []string
	cmd      *exec.Cmd
	mu       sync.Mutex
	cond     *sync.Cond
	recs     []got
	events   map[string]int
	exited   chan struct{}
	accepted int
}

func newReceiver(t *testing.T, extra ...string) *receiver {
	r := &receiver{t: t, grpc: freeAddr(t), http: freeAddr(t), extra: extra, events: map[string]int{}}
	r.cond = sync.NewCond(&r.mu)
	t.Cleanup(r.kill)
	return r
}

// start starts the receiver in mode and waits until it listens.
func (r *receiver) start(mode string) {
	r.t.Helper()
	args := append([]string{"-grpc", r.grpc, "-http", r.http, "-mode", mode}, r.extra...)
	cmd := exec.Command(recvBin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.cmd = cmd
	r.exited = make(chan struct{})
	go r.read(out, r.exited)
	r.mu.Lock()
	ready := r.events["ready"] + 1
	r.mu.Unlock()
	r.waitEvent("ready", ready)
}

// cpu returns the user and system time the running receiver has used so
// far, and false where it can't be read (no /proc).
func (r *receiver) cpu() (time.Duration, bool) {
	d, err := proccpu.Of(r.cmd.Process.Pid)
	return d, err == nil
}

func (r *receiver) read(out io.Reader, exited chan struct{}) {
	defer close(exited)
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var g got
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			r.t.Errorf("receiver printed %q: %v", sc.Text(), err)
			continue
		}
		r.mu.Lock()
		if g.Event != "" {
			r.events[g.Event]++
			r.events[g.Event+" records"] += g.N
		} else {
			r.recs = append(r.recs, g)
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.events["exit"]++
	r.cond.Broadcast()
	r.mu.Unlock()
}

// waitEvent waits until the receiver printed event n times in all (or,
// for "EVENT records", until those events counted n records in all).
func (r *receiver) waitEvent(event string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.events[event] < n {
		if event != "exit" && r.events["exit"] >= r.events["ready"]+1 {
			r.t.Fatalf("receiver exited waiting for %s", event)
		}
		r.cond.Wait()
	}
}

// count returns how many times the receiver printed event.
func (r *receiver) count(event string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[event]
}

// waitRecords waits until the receiver has received records numbered
// every number in want (duplicates allowed).
func (r *receiver) waitRecords(want map[int]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[int]bool{}
	i := 0
	for {
		for ; i < len(r.recs); i++ {
			if n, ok := number(r.recs[i]); ok && want[n] {
				seen[n] = true
			}
		}
		if len(seen) == len(want) {
			return
		}
		r.cond.Wait()
	}
}

// waitCount waits until the receiver has received n records in all.
func (r *receiver) waitCount(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.recs) < n {
		r.cond.Wait()
	}
}

func (r *receiver) signal(sig syscall.Signal) {
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
}

// kill SIGKILLs the receiver and waits for it.
func (r *receiver) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.exited
	r.cmd.Wait()
	r.cmd = nil
}

// records returns what the receiver printed, all it printed for the
// exports it answered so far: a running receiver is asked to print a mark
// and its output read up to it.
func (r *receiver) records() []got {
	if r.cmd != nil {
		r.mu.Lock()
		n := r.events["mark"] + 1
		r.mu.Unlock()
		r.signal(syscall.SIGUSR2)
		r.waitEvent("mark", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.recs...)
}

func number(g got) (int, bool) {
	f, ok := g.Attrs["i"].(float64)
	return int(f), ok
}

// sidecar is one run of logfanin supervising a producer.
type sidecar struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuf
	done   chan error
}

type lockedBuf struct {
	mu   sync.Mutex
	b    strings.Builder
	cond *sync.Cond
}

func newLockedBuf() *lockedBuf {
	l := &lockedBuf{}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	l.cond.Broadcast()
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the text contains s (or the sidecar exited).
func (l *lockedBuf) waitFor(s string, exited <-chan error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !strings.Contains(l.b.String(), s) {
		select {
		case <-exited:
			return false
		default:
		}
		l.cond.Wait()
	}
	return true
}

// startSidecar runs logfanin with args, supervising a producer of n
// records from from; with hold the producer waits for stdin to close.
func startSidecar(t *testing.T, args []string, from, n int, hold bool) *sidecar {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(logfaninBin, append(args, "--", exe)...)
	cmd.Env = append(os.Environ(), "E2E_ROLE=produce", "E2E_FROM="+strconv.Itoa(from), "E2E_N="+strconv.Itoa(n))
	if hold {
		cmd.Env = append(cmd.Env, "E2E_HOLD=1")
	}
	s := &sidecar{cmd: cmd, stderr: newLockedBuf(), done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		s.done <- err
		close(s.done)
		s.stderr.Write(nil) // wake waitFor
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("logfanin %s:\n%s", strings.Join(args, " "), s.stderr)
		}
	})
	return s
}

// wait closes the producer's input and waits for the sidecar to exit.
func (s *sidecar) wait(t *testing.T) {
	t.Helper()
	s.stdin.Close()
	if err := <-s.done; err != nil {
		t.Fatalf("logfanin: %v\n%s", err, s.stderr)
	}
}

// counter reads name=N from the last summary line.
func counter(t *testing.T, stderr, name string) int {
	t.Helper()
	m := regexp.MustCompile(`\b`+name+`=(\d+)`).FindAllStringSubmatch(stderr, -1)
	if m == nil {
		t.Fatalf("no %s in:\n%s", name, stderr)
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}

// written reads every line of the log and its backups (compressed or
// not), by record number.
func written(t *testing.T, path string) map[int]map[string]any {
	t.Helper()
	list, err := backups.List(path, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, b := range list {
		if b.GZ != "" {
			files = append(files, b.GZ)
		} else {
			files = append(files, b.Plain)
		}
	}
	files = append(files, path)
	out := map[int]map[string]any{}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(name, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %q: %v", name, sc.Text(), err)
			}
			i, ok := m["i"].(float64)
			if !ok {
				t.Fatalf("%s: no record number in %q", name, sc.Text())
			}
			if _, dup := out[int(i)]; dup {
				t.Fatalf("record %d written twice", int(i))
			}
			out[int(i)] = m
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// verify checks that the receiver got every record in want, each mapped
// as the documentation says, and nothing else; a record received twice
// carries the same log.record.uid both times, and no two records share
// one. It returns the number of duplicates.
func verify(t *testing.T, recs []got, want map[int]map[string]any) int {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]int{}
	seen := map[int]string{}
	dups := 0
	for _, g := range recs {
		n, ok := number(g)
		if !ok {
			t.Fatalf("received a record without a number: %+v", g)
		}
		if g.Resource["service.name"] != "logfanin" || g.Resource["host.name"] != host ||
			g.Scope != "github.com/logfanin/logfanin/forward" || g.Observed <= 0 {
			t.Fatalf("record %d: resource %v, scope %q, observed %d; want service.name logfanin, host.name %s, the forward scope, a time", n, g.Resource, g.Scope, g.Observed, host)
		}
		w, ok := want[n]
		if !ok {
			t.Fatalf("received record %d, which was not written (or was rejected)", n)
		}
		if g.Body != w["msg"] || g.Sev != w["level"] || g.SevNum != 9 {
			t.Fatalf("record %d: body %v severity %s/%d, want %v %v/9", n, g.Body, g.Sev, g.SevNum, w["msg"], w["level"])
		}
		if want := int64(1700000000+n)*1e9 + 25e7; g.Time != want {
			t.Fatalf("record %d: time %d, want %d", n, g.Time, want)
		}
		if g.Attrs["pad"] != w["pad"] || g.Attrs["stream"] != w["stream"] {
			t.Fatalf("record %d: attributes %v, written %v", n, g.Attrs, w)
		}
		for _, k := range []string{"msg", "level", "ts"} {
			if _, ok := g.Attrs[k]; ok {
				t.Fatalf("record %d: %s left among the attributes: %v", n, k, g.Attrs)
			}
		}
		uid, _ := g.Attrs["log.record.uid"].(string)
		if len(uid) != 26 {
			t.Fatalf("record %d: log.record.uid %q", n, uid)
		}
		if prev, ok := seen[n]; ok {
			if prev != uid {
				t.Fatalf("record %d received twice with uids %s and %s", n, prev, uid)
			}
			dups++
			continue
		}
		if other, ok := uids[uid]; ok {
			t.Fatalf("records %d and %d share the uid %s", other, n, uid)
		}
		uids[uid], seen[n] = n, uid
	}
	var missing []int
	for n := range want {
		if _, ok := seen[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Ints(missing)
		t.Fatalf("%d records written were never received, the first %d", len(missing), missing[0])
	}
	return dups
}

func numbers(from, n int) map[int]bool {
	m := map[int]bool{}
	for i := from; i < from+n; i++ {
		m[i] = true
	}
	return m
}
