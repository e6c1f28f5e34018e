// Package sidecar builds the logfanin binary for the stress suite and the
// benchmark, which run the real sidecar.
package sidecar

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot returns the directory of the logfanin module, from go env
// GOMOD, so that it works from any directory inside the module.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the logfanin module; give the logfanin binary instead")
	}
	return filepath.Dir(mod), nil
}

// Build builds cmd/logfanin into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "logfanin")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/logfanin")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/logfanin: %w\n%s", err, out)
	}
	return bin, nil
}
