// Package sidecar builds the logfanin binary for the stress suite and the
// benchmark, which run the real sidecar.
package sidecar

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/logfanin/logfanin/internal/testinputs"
)

// ModuleRoot returns the directory of the stress module, from go env
// GOMOD, so that it works from any directory inside it.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the logfanin stress module; give the logfanin binary instead")
	}
	return filepath.Dir(mod), nil
}

// Build builds cmd/logfanin into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	// The build reads the library's sources in a child process; open
	// them here too, so that go test's cache of a caller sees them.
	lib, err := exec.Command("go", "list", "-C", root, "-m", "-f", "{{.Dir}}", "github.com/logfanin/logfanin").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/logfanin/logfanin: %w", err)
	}
	if err := testinputs.Consult(strings.TrimSpace(string(lib)), "e2e", "stress", "python"); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "logfanin")
	// By import path: the stress module requires the logfanin module
	// (the workspace, or its replace directive, points at the checkout).
	cmd := exec.Command("go", "build", "-o", bin, "github.com/logfanin/logfanin/cmd/logfanin")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build github.com/logfanin/logfanin/cmd/logfanin: %w\n%s", err, out)
	}
	return bin, nil
}
