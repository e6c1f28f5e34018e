package writer

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childEnv selects a child mode when the test binary runs as a sender
// process (see child_test.go).
const childEnv = "LOGFANIN_WRITER_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	// lumberjack starts its mill goroutine on the first open and never
	// stops it, not even on Close.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}
