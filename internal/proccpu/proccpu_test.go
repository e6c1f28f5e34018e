package proccpu

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// This process's time grows by about what it spends spinning, and never
// exceeds what getrusage says it used.
func TestOf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc/PID/stat here")
	}
	before, err := Of(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
	}
	after, err := Of(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("spun 200 ms of CPU, /proc says %v", d)
	}
	if _, err := Of(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
