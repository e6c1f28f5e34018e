package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// -forward is checked at startup: a usage error (exit 2, one line) for
// a missing -out FILE or a bad URL, and unreadable TLS material too.
func TestForwardUsage(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	sock := "unix://" + filepath.Join(dir, "s.sock")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"-listen", sock, "-forward", "otlp://c:4317"}, "-forward needs -out FILE"},
		{"bad scheme", []string{"-listen", sock, "-out", log, "-forward", "http://c:4318"}, "scheme must be otlp, otlps, otlp+http or otlp+https"},
		{"bad port", []string{"-listen", sock, "-out", log, "-forward", "otlp://c:99999"}, "bad port"},
		{"zero in flight", []string{"-listen", sock, "-out", log, "-forward", "otlp://c:1", "-forward-in-flight", "0"}, "-forward-in-flight must be positive"},
		{"zero batch", []string{"-listen", sock, "-out", log, "-forward", "otlp://c:1", "-forward-batch", "0"}, "-forward-batch must be positive"},
		{"zero backoff", []string{"-listen", sock, "-out", log, "-forward", "otlp://c:1", "-forward-max-backoff", "0s"}, "-forward-max-backoff must be positive"},
		{"bad header", []string{"-listen", sock, "-out", log, "-forward", "otlp://c:1", "-forward-header", "novalue"}, "KEY=VALUE"},
		{"missing CA", []string{"-listen", sock, "-out", log, "-forward", "otlps://c:1", "-forward-ca", filepath.Join(dir, "none.pem")}, "CA file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", code, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
				t.Errorf("want one line mentioning %q, got:\n%s", tt.want, &stderr)
			}
		})
	}
}
