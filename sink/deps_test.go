package sink

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
)

// TestLeanDependencies: a program that imports sink pulls in zap and
// x/sys from outside the standard library, and nothing else.
func TestLeanDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := []string{"github.com/logfanin/logfanin/", "go.uber.org/zap", "go.uber.org/multierr", "golang.org/x/sys/"}
	for _, p := range strings.Fields(string(out)) {
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(p, a)
		}
		if !ok {
			t.Errorf("sink depends on %s", p)
		}
	}
}

// TestPublicConstants: the constants users read the defaults and the
// environment from say what the protocol and the ring say.
func TestPublicConstants(t *testing.T) {
	if DefaultMaxRecord != wire.DefaultMaxRecord || DefaultSharedMemory != shmring.DefaultSize ||
		EnvAddr != wire.EnvAddr || EnvPipe != wire.EnvPipe {
		t.Errorf("sink's constants differ from the protocol's")
	}
}
