package writer

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Output is where records go. A Server's single output goroutine is its only
// user, so an Output need not be safe for concurrent use.
//
// Write receives whole lines, one or more records each ending in "\n"; a
// record is never split between two calls. A Write that returns an error or
// writes less than it was given is retried, with the rest only, until it
// succeeds or Shutdown gives up. Reopen is called between two writes when
// the Server is asked to reopen its output (SIGHUP, after logrotate moved
// the file away). Close is called once, after the last Write.
type Output interface {
	io.Writer
	Reopen() error
	Close() error
}

// FileConfig describes a log file and its rotation. Zero fields mean no
// rotation: MaxSizeMB 0 never rotates for size (unlike lumberjack, whose
// zero means 100 MB), MaxBackups 0 keeps every backup and MaxAgeDays 0
// keeps backups of any age, as in lumberjack.
type FileConfig struct {
	Path       string // the file written; its directory is created if missing
	MaxSizeMB  int    // rotate before the file would grow past this many MiB; a longer record gets a file of its own
	MaxBackups int    // rotated files kept, oldest removed first
	MaxAgeDays int    // rotated files older than this are removed
	Compress   bool   // gzip rotated files
	LocalTime  bool   // name backups in local time instead of UTC
}

// FileOutput writes to a file rotated by lumberjack.
//
// The output goroutine is the file's only writer, so FileOutput decides
// when to rotate from the size it has written and calls lumberjack's
// Rotate itself. That way a record longer than MaxSizeMB is written (alone
// in a file of its own) instead of being refused, and two rotations never
// fall within one millisecond, which would give two backups the same name
// and let the second rename overwrite the first.
//
// lumberjack starts a goroutine on first open that it never stops; it
// idles when no backups need removing or compressing.
type FileOutput struct {
	l          *lumberjack.Logger
	max        int64 // rotation size in bytes, 0 for none
	size       int64 // bytes in the current file
	lastRotate time.Time
	now        func() time.Time
}

var (
	_ Output = (*FileOutput)(nil)
	_ Output = streamOutput{}
)

// noRotateMB is a size that lumberjack never reaches (it counts in MiB).
const noRotateMB = 1 << 40

// NewFileOutput opens the file described by cfg, creating it (mode 0600,
// as lumberjack does) and its directory if needed, so that a bad path is
// reported now rather than at the first record.
func NewFileOutput(cfg FileConfig) (*FileOutput, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("file output: empty path")
	}
	if fi, err := os.Stat(cfg.Path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("file output %s: not a regular file (%s)", cfg.Path, fi.Mode().Type())
	}
	f := &FileOutput{
		l: &lumberjack.Logger{
			Filename:   filepath.Clean(cfg.Path),
			MaxSize:    noRotateMB, // FileOutput rotates, see above
			MaxBackups: max(cfg.MaxBackups, 0),
			MaxAge:     max(cfg.MaxAgeDays, 0),
			Compress:   cfg.Compress,
			LocalTime:  cfg.LocalTime,
		},
		max: int64(max(cfg.MaxSizeMB, 0)) << 20,
		now: time.Now,
	}
	// An empty write opens the file (or fails) without writing anything.
	if _, err := f.l.Write(nil); err != nil {
		return nil, fmt.Errorf("file output %s: %w", cfg.Path, err)
	}
	f.statSize()
	return f, nil
}

func (f *FileOutput) statSize() {
	f.size = 0
	if fi, err := os.Stat(f.l.Filename); err == nil {
		f.size = fi.Size()
	}
}

// Write appends p, whole lines, to the file. Before a line that would take
// the file past MaxSizeMB it rotates; a line longer than MaxSizeMB is
// written alone into a fresh file.
func (f *FileOutput) Write(p []byte) (int, error) {
	if f.max == 0 {
		n, err := f.l.Write(p)
		f.size += int64(n)
		return n, err
	}
	written := 0
	for written < len(p) {
		rest := p[written:]
		piece := rest
		if room := f.max - f.size; int64(len(rest)) > room {
			piece = rest[:0]
			if room > 0 {
				if i := bytes.LastIndexByte(rest[:room], '\n'); i >= 0 {
					piece = rest[:i+1]
				}
			}
		}
		if len(piece) == 0 {
			if f.size > 0 {
				if err := f.Rotate(); err != nil {
					return written, err
				}
				continue
			}
			// One line longer than the rotation size, in an empty file.
			piece = rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				piece = rest[:i+1]
			}
		}
		n, err := f.l.Write(piece)
		f.size += int64(n)
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// Reopen closes the file; the next Write opens Path afresh, creating it if
// it was moved away.
func (f *FileOutput) Reopen() error {
	err := f.l.Close()
	f.statSize()
	return err
}

// Rotate renames the file to a timestamped backup and opens a new one. It
// waits for the clock to pass the millisecond of the previous rotation, so
// that backup names, which have millisecond resolution, never collide.
func (f *FileOutput) Rotate() error {
	for {
		now := f.now()
		if now.Truncate(time.Millisecond).After(f.lastRotate.Truncate(time.Millisecond)) {
			break
		}
		time.Sleep(time.Until(f.lastRotate.Truncate(time.Millisecond).Add(time.Millisecond)))
	}
	err := f.l.Rotate()
	f.lastRotate = f.now()
	f.size = 0
	if err != nil {
		f.statSize()
	}
	return err
}

// Close closes the file.
func (f *FileOutput) Close() error { return f.l.Close() }

type streamOutput struct{ w io.Writer }

// NewStreamOutput returns an Output writing to w, such as os.Stdout. Its
// Reopen does nothing and its Close syncs w if w has a Sync method but
// does not close it.
func NewStreamOutput(w io.Writer) Output { return streamOutput{w} }

func (s streamOutput) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s streamOutput) Reopen() error               { return nil }

func (s streamOutput) Close() error {
	if sy, ok := s.w.(interface{ Sync() error }); ok {
		if err := sy.Sync(); err != nil && !isSyncUnsupported(err) {
			return fmt.Errorf("sync output: %w", err)
		}
	}
	return nil
}
