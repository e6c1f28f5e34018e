package writer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/logfanin/logfanin/internal/backups"
	"github.com/logfanin/logfanin/internal/pathrule"
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

	// Watcher, if not nil, is told of every write and rotation, by the
	// output goroutine (see FileWatcher).
	Watcher FileWatcher
}

// RotateEvent describes a rotation about to happen: the live file, named
// by its device and inode, is renamed to Backup (a plain file;
// "Backup.gz" once compressed).
type RotateEvent struct {
	Dev, Ino uint64
	Size     int64  // bytes in the file, all of them written
	Backup   string // path of the backup the file becomes
}

// FileWatcher follows what a FileOutput does to its file, such as a
// forwarder that ships the file's lines elsewhere. Its methods are called
// by the output goroutine, so they must be quick and must not call back
// into the FileOutput.
//
// Wrote is called after n bytes were appended to the live file. Rotating
// is called before the live file is renamed to its backup, after its last
// byte was written: a watcher that stores the event durably in Rotating
// can find the file again after a crash, under its backup's name. The
// rename happens even if the watcher fails to store it.
type FileWatcher interface {
	Wrote(n int)
	Rotating(RotateEvent)
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
//
// FileOutput notices when its path no longer names the file it writes:
// between two writes, at most once a second, it compares the path's
// device and inode with those of the file it has open (one stat(2)). If
// the file was deleted or renamed away without a SIGHUP, it reopens the
// path, creating the file anew, so that at most about a second of records
// goes to the old file (records are never lost: they are in the renamed
// file, or were written to the deleted one before anyone could read it
// from the path). Rotations and these reopens are counted in Stats.
//
// The file is always written with O_APPEND, so that a truncation by
// someone else (logrotate's copytruncate) is harmless: the next line goes
// to the file's new end, and rotation counts from what the file holds.
//
// The path is checked against the writer's symlink rule (see "Security"
// in the package documentation) when opened and at each reopen; a reopen
// that fails the rule keeps the file open.
type FileOutput struct {
	torn int64 // see TornTail

	l          *lumberjack.Logger
	max        int64 // rotation size in bytes, 0 for none
	size       int64 // bytes in the current file
	lastRotate time.Time

	// The open file's identity, to notice it moved away.
	dev, ino   uint64
	known      bool // dev and ino are those of the open file; false also while it is closed (the next write opens it with openAppend)
	lastCheck  time.Time
	checkEvery time.Duration

	rotations atomic.Uint64
	autoOpens atomic.Uint64

	gzip *compressor // nil without Compress

	watcher   FileWatcher // nil if none
	localTime bool
}

var (
	_ Output = (*FileOutput)(nil)
	_ Output = streamOutput{}
)

// noRotateMB is a size that lumberjack never reaches (it counts in MiB).
const noRotateMB = math.MaxInt32 // fits int on 32-bit platforms too

// NewFileOutput opens the file described by cfg, creating it (mode 0600,
// as lumberjack does) and its directory if needed, so that a bad path is
// reported now rather than at the first record.
func NewFileOutput(cfg FileConfig) (*FileOutput, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("file output: empty path")
	}
	if err := pathrule.Check(filepath.Clean(cfg.Path), "output"); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(cfg.Path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("file output %s: not a regular file (%s)", cfg.Path, fi.Mode().Type())
	}
	torn, err := repairTornTail(filepath.Clean(cfg.Path))
	if err != nil {
		return nil, fmt.Errorf("file output %s: %w", cfg.Path, err)
	}
	f := &FileOutput{
		torn: torn,
		l: &lumberjack.Logger{
			Filename:   filepath.Clean(cfg.Path),
			MaxSize:    noRotateMB, // FileOutput rotates, see above
			MaxBackups: max(cfg.MaxBackups, 0),
			MaxAge:     max(cfg.MaxAgeDays, 0),
			// FileOutput compresses itself: see compressor.
			LocalTime: cfg.LocalTime,
		},
		max:        int64(max(cfg.MaxSizeMB, 0)) << 20,
		checkEvery: time.Second,
		watcher:    cfg.Watcher,
		localTime:  cfg.LocalTime,
	}
	if err := f.openAppend(); err != nil {
		return nil, fmt.Errorf("file output %s: %w", cfg.Path, err)
	}
	f.statSize()
	f.noteIdentity()
	f.lastCheck = time.Now()
	if cfg.Compress {
		// Backups a previous run left uncompressed are compressed now.
		f.gzip = &compressor{path: f.l.Filename}
		f.gzip.start()
	}
	return f, nil
}

// openAppend opens the path through lumberjack, creating the file if need
// be, with O_APPEND. lumberjack opens a file it creates without O_APPEND
// (and one that exists with it), and a file written at offsets of its
// own grows a hole of zero bytes, up to where it had got, when someone
// truncates it (as logrotate's copytruncate does); with O_APPEND the next
// write goes to the file's new end. So the file is opened (an empty write
// opens it, or fails, without writing anything), then reopened.
func (f *FileOutput) openAppend() error {
	if _, err := f.l.Write(nil); err != nil {
		return err
	}
	return f.reopenExisting()
}

// reopenExisting closes the file lumberjack has open and opens it again,
// now as an existing file: with O_APPEND. (A file removed in between is
// created anew, without O_APPEND, until the next reopen.)
func (f *FileOutput) reopenExisting() error {
	if err := f.l.Close(); err != nil {
		return err
	}
	_, err := f.l.Write(nil)
	return err
}

// noteIdentity records the device and inode the path names now, just
// after lumberjack opened it.
func (f *FileOutput) noteIdentity() {
	var st unix.Stat_t
	f.known = unix.Stat(f.l.Filename, &st) == nil
	f.dev, f.ino = uint64(st.Dev), st.Ino
}

// checkMoved reopens the file if its path names another file or none,
// at most once every checkEvery.
func (f *FileOutput) checkMoved() {
	now := time.Now()
	if now.Sub(f.lastCheck) < f.checkEvery {
		return
	}
	f.lastCheck = now
	if !f.known || f.sameFile() {
		return
	}
	if pathrule.Check(f.l.Filename, "output") != nil {
		return // keep writing where we are rather than follow a planted link
	}
	f.l.Close() // the next write opens the path afresh
	f.known = false
	f.size = 0
	f.autoOpens.Add(1)
}

// sameFile reports whether the path still names the open file, and if so
// takes its size for f.size when it holds less: someone truncated it
// (logrotate's copytruncate), and rotation counts from what it holds.
func (f *FileOutput) sameFile() bool {
	var st unix.Stat_t
	if !f.known || unix.Stat(f.l.Filename, &st) != nil || uint64(st.Dev) != f.dev || st.Ino != f.ino {
		return false
	}
	f.size = min(f.size, st.Size)
	return true
}

// write writes through lumberjack, and records the identity of a file it
// opened on the way.
func (f *FileOutput) write(p []byte) (int, error) {
	reopened := !f.known
	if reopened {
		if err := f.openAppend(); err != nil {
			return 0, err
		}
	}
	n, err := f.l.Write(p)
	if reopened {
		f.noteIdentity()
	}
	if n > 0 && f.watcher != nil {
		f.watcher.Wrote(n)
	}
	return n, err
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
	f.checkMoved()
	if f.max == 0 {
		n, err := f.write(p)
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
			if counted := f.size; f.sameFile() && f.size < counted {
				continue // truncated meanwhile: it may fit after all
			}
			if f.size > 0 {
				if err := f.rotate(); err != nil {
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
		n, err := f.write(piece)
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
//
// Reopen refuses, and keeps the open file, if the path fails the symlink
// rule.
func (f *FileOutput) Reopen() error {
	if err := pathrule.Check(f.l.Filename, "output"); err != nil {
		return err
	}
	err := f.l.Close()
	f.known = false
	f.statSize()
	return err
}

// TornTail returns how many bytes NewFileOutput removed from the end of
// the file: the cut-short last batch of a writer killed while writing it
// (the file did not end with a newline). Its records were never
// acknowledged; clients with acknowledgements send them again.
func (f *FileOutput) TornTail() int64 { return f.torn }

// rotate renames the file to a timestamped backup and opens a new one. It
// waits for the clock to pass the millisecond of the previous rotation, so
// that backup names, which have millisecond resolution, never collide.
func (f *FileOutput) rotate() error {
	for {
		now := time.Now()
		if now.Truncate(time.Millisecond).After(f.lastRotate.Truncate(time.Millisecond)) {
			break
		}
		time.Sleep(time.Until(f.lastRotate.Truncate(time.Millisecond).Add(time.Millisecond)))
	}
	var err error
	if f.watcher != nil && f.known {
		err = f.renameToBackup()
	}
	if err == nil {
		err = f.l.Rotate()
		if err == nil {
			// lumberjack created the new file without O_APPEND.
			err = f.reopenExisting()
		}
	}
	f.lastRotate = time.Now()
	f.size = 0
	if err != nil {
		f.statSize()
	} else {
		f.rotations.Add(1)
		if f.gzip != nil {
			f.gzip.start()
		}
	}
	f.noteIdentity()
	return err
}

// renameToBackup tells the watcher which backup the live file becomes,
// then renames it there itself, so that the name the watcher was told is
// the name the file has (lumberjack's Rotate, called next, finds no file
// to rename and only opens a new one and prunes old backups).
func (f *FileOutput) renameToBackup() error {
	now := time.Now()
	if !f.localTime {
		now = now.UTC()
	}
	name := backups.Name(f.l.Filename, now)
	f.watcher.Rotating(RotateEvent{Dev: f.dev, Ino: f.ino, Size: f.size, Backup: name})
	if err := f.l.Close(); err != nil {
		return fmt.Errorf("rotate %s: %w", f.l.Filename, err)
	}
	f.known = false
	if err := os.Rename(f.l.Filename, name); err != nil {
		return fmt.Errorf("rotate %s: %w", f.l.Filename, err)
	}
	return nil
}

// Close closes the file and waits for the compression of backups under
// way.
func (f *FileOutput) Close() error {
	err := f.l.Close()
	if f.gzip != nil {
		err = errors.Join(err, f.gzip.wait())
	}
	return err
}

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
