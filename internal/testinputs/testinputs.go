// Package testinputs makes go test's cache see the sources of programs a
// test builds and runs. go test caches a package's result by the files
// the test process opened; a test that runs `go build` (or a Python
// interpreter) as a child process reads its sources through the child,
// and without this a changed source could be answered from the cache.
package testinputs

import (
	"fmt"
	"os"
	"path/filepath"
)

// Consult opens every source file below root (Go, Python, go.mod, go.sum,
// pyproject.toml), skipping .git, testdata, docs, examples and the
// directories named in skip, so that a change to any of them makes the
// calling test run again.
func Consult(root string, skip ...string) error {
	skipped := map[string]bool{".git": true, "testdata": true, "docs": true, "examples": true, "__pycache__": true}
	for _, s := range skip {
		skipped[s] = true
	}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipped[d.Name()] {
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
		return fmt.Errorf("consult the sources below %s: %w", root, err)
	}
	return nil
}
