// Package python_test runs the tests of the Python package logfanin
// (python/tests, standard library unittest) against a logfanin sidecar
// built from this checkout, so that ./test.sh covers the Python client.
package python_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/testinputs"
)

func TestPythonPackage(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Python package is not tested")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build the sidecar with")
		}
	}
	// go build and the unittest child read the sidecar's and the
	// package's sources; so that a change to one runs the test again:
	if err := testinputs.Consult("..", "e2e", "stress"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "logfanin")
	build := exec.Command(goTool, "build", "-o", bin, "../cmd/logfanin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "unittest", "discover", "-v", "-s", "tests", "-t", "tests")
	cmd.Env = append(os.Environ(), "LOGFANIN_BIN="+bin, "PYTHONPATH=.", "PYTHONDONTWRITEBYTECODE=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("python3 -m unittest: %v", err)
	}
}
