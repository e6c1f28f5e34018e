package bench

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot returns the directory of the logfanin module, from go env GOMOD.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == "/dev/null" {
		return "", fmt.Errorf("not inside the logfanin module")
	}
	return filepath.Dir(mod), nil
}

// BuildSidecar builds cmd/logfanin into dir and returns the binary's path.
func BuildSidecar(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "logfanin")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/logfanin")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/logfanin: %v: %s", err, out.String())
	}
	return bin, nil
}
