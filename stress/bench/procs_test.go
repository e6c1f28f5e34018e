package bench

import (
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// envSetupChild makes the test binary a child that spends its CPU setting
// up, before the start signal, and next to none after it.
const envSetupChild = "LOGFANIN_BENCH_TEST_SETUP_CHILD"

// setupChild is that child: it burns CPU, says it is ready, waits for the
// start signal, burns less, and reports what it used before the signal, as
// a producer does.
func setupChild() {
	spin(300 * time.Millisecond)
	ready(os.Stdin, os.Stdout)
	spin(100 * time.Millisecond)
	b, _ := json.Marshal(childResult{SetupCPU: setupCPU.Nanoseconds()})
	os.Stdout.Write(append(b, '\n'))
	os.Exit(0)
}

func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// A producer's CPU is counted from its start signal: what it spent
// setting up is left out.
func TestSetupCPUNotCounted(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envSetupChild+"=1")
	ch, err := startCmd(cmd)
	if err != nil {
		t.Fatal(err)
	}
	ch.stdin.Close()
	used, _, err := ch.wait()
	if err != nil {
		t.Fatal(err)
	}
	total := cpu(ch.cmd.ProcessState.SysUsage().(*syscall.Rusage))
	if total < 300*time.Millisecond {
		t.Fatalf("the child used %v in all, less than it spins for: the test measures nothing", total)
	}
	if used > total/2 {
		t.Fatalf("counted %v of the child's %v, most of which it spent before the start signal", used, total)
	}
	if used < 50*time.Millisecond {
		t.Fatalf("counted %v of the child's %v: what it spent after the start signal (about 100 ms) is left out too", used, total)
	}
}
