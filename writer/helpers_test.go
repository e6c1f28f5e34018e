package writer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
)

type fixture struct {
	t    *testing.T
	dir  string
	out  string
	s    *Server
	diag *syncbuf.Buffer
	done bool
}

// newFixture starts a Server writing to a file in a temporary directory.
func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, out: filepath.Join(dir, "out.log"), diag: &syncbuf.Buffer{}}
	o, err := NewFileOutput(FileConfig{Path: f.out})
	if err != nil {
		t.Fatal(err)
	}
	f.s = New(o, append([]Option{WithDiagnostics(f.diag)}, opts...)...)
	if err := f.s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !f.done {
			f.shutdown()
		}
		if t.Failed() {
			t.Logf("diagnostics:\n%s", f.diag.String())
		}
	})
	return f
}

func (f *fixture) sock(name string) string { return filepath.Join(f.dir, name) }

func (f *fixture) listen(addr string) {
	f.t.Helper()
	if err := f.s.Listen(addr); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) shutdown() {
	f.t.Helper()
	f.done = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.s.Shutdown(ctx); err != nil {
		f.t.Errorf("shutdown: %v", err)
	}
}

// lines shuts the server down and returns the output lines, each checked to
// be one valid JSON object.
func (f *fixture) lines() []map[string]any {
	f.t.Helper()
	if !f.done {
		f.shutdown()
	}
	return jsonLines(f.t, f.out)
}

func jsonLines(t *testing.T, paths ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Errorf("%s: last line has no newline", p)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: output line is not a JSON object: %v: %.200q", p, err, sc.Text())
			}
			out = append(out, m)
		}
	}
	return out
}

// check verifies the output against what the senders sent.
func (f *fixture) check(senders []sender) {
	f.t.Helper()
	if !f.done {
		f.shutdown()
	}
	checkFiles(f.t, senders, f.out)
}

func checkFiles(t *testing.T, senders []sender, paths ...string) {
	t.Helper()
	expect := map[int]int{}
	for _, sd := range senders {
		expect[sd.Producer] = sd.N
	}
	rep, err := logcheck.CheckFiles(expect, paths...)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("output: %v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func senders(first, n, records, max int) []sender {
	var s []sender
	for i := range n {
		s = append(s, sender{Producer: first + i, N: records, Max: max})
	}
	return s
}

func newRand(seed uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, 1)) }

func appendFrame(b []byte, rec string) []byte { return wire.AppendFrame(b, []byte(rec)) }

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// contextExpired returns a context that is already done.
func contextExpired() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx, cancel
}

func syscallDup(fd int) (int, error) { return syscall.Dup(fd) }

func itoa(n int) string { return strconv.Itoa(n) }

func logcheckLog(sds []sender, path string) (logcheck.Report, error) {
	expect := map[int]int{}
	for _, sd := range sds {
		expect[sd.Producer] = sd.N
	}
	return logcheck.CheckLog(expect, path)
}

// runSenders sends from every in-process sender with send and from every
// child process that start starts, all at once, waits for all of them and
// fails the test on the first error.
func runSenders(t *testing.T, inproc, children []sender, send func(sender) error, start func(sender) *exec.Cmd) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(inproc)+len(children))
	for _, sd := range inproc {
		wg.Go(func() { errs <- send(sd) })
	}
	for _, sd := range children {
		cmd := start(sd)
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				errs <- fmt.Errorf("child %d: %w", sd.Producer, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// lastErrorFrame reads the control frames the writer sends on c until the
// connection ends, however it ends, and returns the error frame among
// them, nil if none came.
func lastErrorFrame(t *testing.T, c net.Conn) *wire.ErrorFrame {
	t.Helper()
	fr := wire.NewFrameReader(c, 0)
	var last *wire.ErrorFrame
	for {
		fm, err := fr.Next()
		if err != nil {
			return last
		}
		v, err := wire.ParseControl(fm.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if ef, ok := v.(*wire.ErrorFrame); ok {
			last = ef
		}
	}
}
