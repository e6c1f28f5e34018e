package writer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

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
	MaxSizeMB  int    // rotate before the file would grow past this many MiB; should exceed the largest record
	MaxBackups int    // rotated files kept, oldest removed first
	MaxAgeDays int    // rotated files older than this are removed
	Compress   bool   // gzip rotated files
	LocalTime  bool   // name backups in local time instead of UTC
}

// FileOutput writes to a file rotated by lumberjack.
//
// lumberjack starts a goroutine on first open that it never stops; it
// idles when no backups need removing or compressing.
type FileOutput struct {
	l *lumberjack.Logger
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
	size := cfg.MaxSizeMB
	if size <= 0 {
		size = noRotateMB
	}
	l := &lumberjack.Logger{
		Filename:   filepath.Clean(cfg.Path),
		MaxSize:    size,
		MaxBackups: max(cfg.MaxBackups, 0),
		MaxAge:     max(cfg.MaxAgeDays, 0),
		Compress:   cfg.Compress,
		LocalTime:  cfg.LocalTime,
	}
	// An empty write opens the file (or fails) without writing anything.
	if _, err := l.Write(nil); err != nil {
		return nil, fmt.Errorf("file output %s: %w", cfg.Path, err)
	}
	return &FileOutput{l: l}, nil
}

// Write appends p to the file, rotating first if the file would grow past
// MaxSizeMB.
func (f *FileOutput) Write(p []byte) (int, error) { return f.l.Write(p) }

// Reopen closes the file; the next Write opens Path afresh, creating it if
// it was moved away.
func (f *FileOutput) Reopen() error { return f.l.Close() }

// Rotate renames the file to a timestamped backup and opens a new one.
func (f *FileOutput) Rotate() error { return f.l.Rotate() }

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
