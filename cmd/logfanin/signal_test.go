package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/sink"
)

// envSigExit makes a sigchild handle SIGTERM and exit with this status;
// empty leaves SIGTERM's default action (death by the signal).
const envSigExit = "LOGFANIN_TEST_SIGEXIT"

const sigChildRecords = 50

// sigChild is a supervised command: it logs sigChildRecords records
// through LOGFANIN_ADDR, waits for them to be acknowledged, prints
// "child ready" and waits for SIGTERM. If it handles SIGTERM it then logs
// as many records again, says so on stderr, closes its Sink and exits with
// LOGFANIN_TEST_SIGEXIT.
func sigChild() int {
	code, handle := os.LookupEnv(envSigExit)
	sigs := make(chan os.Signal, 1)
	if handle {
		signal.Notify(sigs, syscall.SIGTERM)
	}
	s, err := sink.New("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	rng := rand.New(rand.NewPCG(0, 7))
	write := func(from int) bool {
		for seq := from; seq < from+sigChildRecords; seq++ {
			if _, err := s.Write(logcheck.Make(nil, 0, seq, logcheck.MinSize+seq*97, rng)); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return false
			}
		}
		return true
	}
	if !write(0) || s.Sync() != nil {
		return 1
	}
	fmt.Println("child ready")
	if !handle {
		time.Sleep(time.Hour) // until SIGTERM kills it
		return 1
	}
	sig := <-sigs
	if !write(sigChildRecords) {
		return 1
	}
	fmt.Fprintf(os.Stderr, "child got %v\n", sig)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	n, _ := strconv.Atoi(code)
	return n
}

// Supervise mode forwards SIGTERM to the command. A command that keeps
// SIGTERM's default action dies of it, and logfanin exits 143 (128+15)
// after writing everything the command logged before; a command that
// handles SIGTERM logs its last records and a line on stderr, and logfanin
// drains them all and exits with the command's own status. The command's
// stdout and stderr lines are records with "stream":"stdout" and
// "stream":"stderr".
func TestSuperviseSignalForward(t *testing.T) {
	for _, tt := range []struct {
		name    string
		exit    string // "" for the default action
		code    int
		records int
		lines   []string
	}{
		{"default action", "", 143, sigChildRecords, []string{`"msg":"child ready","stream":"stdout"`}},
		{"handled", "7", 7, 2 * sigChildRecords, []string{`"msg":"child ready","stream":"stdout"`, `"msg":"child got terminated","stream":"stderr"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "app.log")
			cmd, stderr := logfanin(t, "-out", out, "--", os.Args[0])
			cmd.Env = append(cmd.Env, envChildRole+"=sigchild")
			if tt.exit != "" {
				cmd.Env = append(cmd.Env, envSigExit+"="+tt.exit)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the command's ready line", func() bool {
				data, _ := os.ReadFile(out)
				return bytes.Contains(data, []byte("child ready"))
			})
			cmd.Process.Signal(syscall.SIGTERM)
			err := cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != tt.code {
				t.Fatalf("logfanin exit: %v, want status %d\n%s", err, tt.code, stderr)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.lines {
				if !bytes.Contains(data, []byte(l)) {
					t.Errorf("output lacks %s:\n%.2000s", l, data)
				}
			}
			verify(t, out, map[int]int{0: tt.records})
		})
	}
}
