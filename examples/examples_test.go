// Package examples_test builds every example program, so that they can't
// rot, and runs them as their documentation says.
package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build compiles every program under examples/ and the logfanin sidecar
// into a temporary directory and returns it.
func build(t *testing.T) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build the examples with")
		}
	}
	bin := t.TempDir()
	cmd := exec.Command(goTool, "build", "-o", bin+string(filepath.Separator), "./...", "../cmd/logfanin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Every example builds; the Go ones run and verify their own output: the
// worker pool under the sidecar (stream socket and pipe, rotation), and
// direct mode (processes appending to one file, rotating it between them).
func TestExamples(t *testing.T) {
	bin := build(t)
	for _, name := range []string{"workerpool", "direct", "logfanin"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Fatalf("%s was not built: %v", name, err)
		}
	}
	t.Run("workerpool", func(t *testing.T) {
		dir := t.TempDir()
		run(t, dir, filepath.Join(bin, "logfanin"), "-quiet", "-out", "app.log", "-max-size", "1", "--",
			filepath.Join(bin, "workerpool"), "-workers", "3", "-records", "300")
		out := run(t, dir, filepath.Join(bin, "workerpool"), "-verify", "app.log", "-workers", "3", "-records", "300")
		t.Log(strings.TrimSpace(out))
	})
	t.Run("direct", func(t *testing.T) {
		dir := t.TempDir()
		out := run(t, dir, filepath.Join(bin, "direct"), "-out", "app.log", "-workers", "3", "-records", "300", "-rotate", "1048576")
		t.Log(strings.TrimSpace(out))
		files, _ := filepath.Glob(filepath.Join(dir, "app*.log"))
		if len(files) < 2 {
			t.Errorf("no rotation: files %v", files)
		}
	})
}
