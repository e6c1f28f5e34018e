package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/sink"
)

// The test binary plays three parts, chosen by environment: the logfanin
// binary itself, a producer that sends records, or the test runner.
const (
	envRole      = "LOGFANIN_TEST_ROLE"
	envProducer  = "LOGFANIN_TEST_PRODUCER"
	envRecords   = "LOGFANIN_TEST_RECORDS"
	envMaxSize   = "LOGFANIN_TEST_MAX_SIZE"
	envChildren  = "LOGFANIN_TEST_CHILDREN"
	envExit      = "LOGFANIN_TEST_EXIT"
	envChildRole = "LOGFANIN_TEST_CHILD_ROLE"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "logfanin":
		// A supervised command gets the role named for it.
		os.Setenv(envRole, os.Getenv(envChildRole))
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	case "producer":
		os.Exit(produce())
	case "pool":
		os.Exit(pool())
	case "loadproducer":
		os.Exit(loadProducer())
	case "sigchild":
		os.Exit(sigChild())
	case "forger":
		os.Exit(forger())
	}
	// lumberjack starts its mill goroutine on the first open and never
	// stops it, not even on Close.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}

// produce sends logcheck records to the address in LOGFANIN_ADDR (or the
// one named by LOGFANIN_TEST_ADDR).
func produce() int {
	id, _ := strconv.Atoi(os.Getenv(envProducer))
	n, _ := strconv.Atoi(os.Getenv(envRecords))
	maxSize, _ := strconv.Atoi(os.Getenv(envMaxSize))
	s, err := sink.New(os.Getenv("LOGFANIN_TEST_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		return 1
	}
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	var rec []byte
	for seq, size := range logcheck.Sizes(uint64(id), n, maxSize) {
		rec = logcheck.Make(rec[:0], id, seq, size, rng)
		if _, err := s.Write(rec); err != nil {
			fmt.Fprintln(os.Stderr, "producer:", err)
			return 1
		}
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		return 1
	}
	return 0
}

// pool is a supervised command: it starts producers over the stream
// socket and the shared pipe, prints a line to stdout, and exits with
// LOGFANIN_TEST_EXIT.
func pool() int {
	children, _ := strconv.Atoi(os.Getenv(envChildren))
	var cmds []*exec.Cmd
	for i := range children {
		addr := os.Getenv("LOGFANIN_ADDR")
		if i%2 == 1 {
			addr = os.Getenv("LOGFANIN_PIPE")
		}
		cmd := self()
		cmd.Env = append(os.Environ(), envRole+"=producer", envProducer+"="+strconv.Itoa(i), "LOGFANIN_TEST_ADDR="+addr)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "pool:", err)
			return 1
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			fmt.Fprintln(os.Stderr, "pool:", err)
			return 1
		}
	}
	fmt.Println("pool: all producers done")
	code, _ := strconv.Atoi(os.Getenv(envExit))
	return code
}

// self returns a command running the test binary again. The process dies
// with the test binary, so that a test killed by its timeout leaves no
// writers or producers behind.
func self(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.SysProcAttr = dieWithParent()
	return cmd
}

// logfanin starts the binary under test with args.
func logfanin(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := self(args...)
	cmd.Env = append(os.Environ(), envRole+"=logfanin")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

func producer(id, records, maxSize int, addr string) *exec.Cmd {
	cmd := self()
	cmd.Env = append(os.Environ(), envRole+"=producer", envProducer+"="+strconv.Itoa(id),
		envRecords+"="+strconv.Itoa(records), envMaxSize+"="+strconv.Itoa(maxSize), "LOGFANIN_TEST_ADDR="+addr)
	cmd.Stderr = os.Stderr
	return cmd
}

// waitFor polls cond, which watches a file the writer creates, until it
// holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exists(path string) func() bool {
	return func() bool { _, err := os.Stat(path); return err == nil }
}

func verify(t *testing.T, out string, expect map[int]int) {
	t.Helper()
	rep, err := logcheck.CheckLog(expect, out)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verification failed: %v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	t.Logf("verified: %v", rep)
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"help", []string{"-h"}, 0, []string{"-listen", "-out", "-max-size", "-max-backups", "-max-age", "-compress", "-max-record", "-socket-mode", "-peer-cred", "-drain-timeout", "(default 100)"}},
		{"unknown flag", []string{"-bogus"}, 2, []string{"flag provided but not defined: -bogus"}},
		{"bad address", []string{"-listen", "tcp://x:1"}, 2, []string{`unknown scheme "tcp"`}},
		{"nothing to do", nil, 2, []string{"nothing to do"}},
		{"bad mode", []string{"-socket-mode", "999", "-listen", "unix:///x"}, 2, []string{"octal mode"}},
		{"unusable output", []string{"-out", "/proc/nonexistent/dir/x.log", "-listen", "unix:///tmp/x"}, 2, []string{"/proc/nonexistent/dir/x.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, &stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not mention %q:\n%s", w, &stderr)
				}
			}
			if tt.code == 2 && strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("want a one-line error, got:\n%s", &stderr)
			}
		})
	}
}

// Listen mode end to end: producers over every transport, records from
// MinSize to 1 MiB, then SIGTERM: every record written once, whole, in
// order, and exit status 0.
func TestListenModeAllTransports(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "app.log")
	stream := "unix://" + filepath.Join(dir, "s.sock")
	dgram := "unixgram://" + filepath.Join(dir, "d.sock")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd, stderr := logfanin(t, "-listen", stream, "-listen", dgram, "-listen", "fd:3", "-out", out, "-max-size", "1")
	cmd.ExtraFiles = []*os.File{pr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	waitFor(t, "sockets", func() bool { return exists(filepath.Join(dir, "s.sock"))() && exists(filepath.Join(dir, "d.sock"))() })

	const records = 150
	expect := map[int]int{}
	var producers []*exec.Cmd
	for id, addr := range []string{stream, stream, dgram, dgram, "fd:3", "fd:3"} {
		maxSize := 1 << 20
		if strings.HasPrefix(addr, "unixgram") {
			maxSize = 100 << 10 // datagrams are bounded by the socket buffers
		}
		p := producer(id, records, maxSize, addr)
		if addr == "fd:3" {
			p.ExtraFiles = []*os.File{pw}
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		producers = append(producers, p)
		expect[id] = records
	}
	pw.Close()
	for _, p := range producers {
		if err := p.Wait(); err != nil {
			t.Fatalf("producer: %v", err)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logfanin: %v\n%s", err, stderr)
	}
	verify(t, out, expect)
	if files, _ := logcheck.LogFiles(out); len(files) < 2 {
		t.Errorf("expected rotation at 1 MB, got files %v", files)
	}
}

// Supervise mode: the command's producers log over the socket and the
// inherited pipe, its stdout becomes records, and logfanin exits with its
// status after draining.
func TestSuperviseMode(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "app.log")
	cmd, stderr := logfanin(t, "-out", out, "--", os.Args[0])
	cmd.Env = append(cmd.Env, envChildRole+"=pool", envChildren+"=4", envRecords+"=200", envMaxSize+"="+strconv.Itoa(300<<10), envExit+"=3")
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("logfanin exit: %v, want status 3\n%s", err, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`pool: all producers done`)) {
		t.Errorf("the command's stdout line is not in the output")
	}
	verify(t, out, map[int]int{0: 200, 1: 200, 2: 200, 3: 200})
}
