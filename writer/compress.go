package writer

import (
	"errors"
	"fmt"
	"time"

	"github.com/logfanin/logfanin/internal/backups"
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
	// The location only decides which instant a name stands for; every
	// backup is compressed whatever lumberjack's LocalTime.
	list, err := backups.List(c.path, time.UTC)
	if err != nil {
		return fmt.Errorf("compress rotated files of %s: %w", c.path, err)
	}
	var errs []error
	for _, b := range list {
		if b.Plain != "" {
			errs = append(errs, backups.Compress(b.Plain))
		}
	}
	return errors.Join(errs...)
}
