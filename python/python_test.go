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
	consultInputs(t)
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

// consultInputs opens every file the run depends on, the Python package
// and its tests and the Go sources the sidecar is built from, because go
// test caches a result by the files the test process itself opened: the
// unittest child and go build read these, and a change to any of them
// must run the test again.
func consultInputs(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "e2e", "stress", "testdata", "__pycache__", "docs", "examples":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".py", ".mod", ".sum", ".toml":
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			return f.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the test's inputs: %v", err)
	}
}
