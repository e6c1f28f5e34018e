package writer

import (
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/rerun"
)

// compressor gzips rotated files in a goroutine that Close waits for.
// lumberjack compresses in a goroutine of its own that nobody can wait
// for: a writer exiting right after a rotation left the backup beside a
// truncated .gz. Here lumberjack only renames and prunes (it counts a
// backup and its .gz as one).
type compressor struct {
	path string // the live file; backups are name-TIMESTAMP.ext beside it
	run  rerun.Runner
}

// start compresses every backup not compressed yet, in the background.
// Called during a run, it makes that run look once more when it ends.
func (c *compressor) start() { c.run.Start(c.compressAll) }

// wait waits for the compression under way and returns the first error.
func (c *compressor) wait() error { return c.run.Wait() }

func (c *compressor) compressAll() error {
	dir, base := filepath.Split(c.path)
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	matches, err := filepath.Glob(filepath.Join(dir, globEscape(prefix)+"*"+globEscape(ext)))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range matches {
		stamp := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), prefix), ext)
		if _, err := time.Parse(atomicwrite.BackupTimeFormat, stamp); err != nil {
			continue // not one of our backups
		}
		errs = append(errs, atomicwrite.CompressBackup(m))
	}
	return errors.Join(errs...)
}

// globEscape quotes the characters filepath.Match treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
