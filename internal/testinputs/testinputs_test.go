package testinputs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConsultReadsSourcesAndSkips(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a.go", "p/b.py", "skipme/c.go", "testdata/d.go"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Consult(root, "skipme"); err != nil {
		t.Fatal(err)
	}
	// An unreadable source is an error, not a silent hole in the cache key.
	if err := os.Chmod(filepath.Join(root, "a.go"), 0); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if err := Consult(root); err == nil {
			t.Error("an unreadable source was not reported")
		}
	}
	if err := Consult(filepath.Join(root, "missing")); err == nil {
		t.Error("a missing root was not reported")
	}
}
