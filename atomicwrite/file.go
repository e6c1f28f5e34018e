package atomicwrite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/logfanin/logfanin/internal/rerun"
	"go.uber.org/zap/zapcore"
)

// ErrClosed is returned (wrapped) by Write and Sync after Close.
var ErrClosed = errors.New("atomicwrite: file already closed")

// maxReopens bounds how often one Write follows the path to a new file
// before giving up; each step means another process rotated meanwhile.
const maxReopens = 100

// File appends records to a file that other processes append to at the
// same time. Each Write is one record. A File is safe for concurrent use
// by multiple goroutines; records from one File are written in the order
// their Write calls acquire its mutex. Use Open to make one.
type File struct {
	path string // absolute, symlinks resolved
	cfg  config

	mu        sync.Mutex // guards everything below
	fd        int        // -1 after Close
	id        fileID     // identity of fd, from fstat at open
	size      int64      // size at the last stat, plus what we wrote since
	lastCheck time.Time  // when we last made sure path names fd

	closeOnce sync.Once
	closeErr  error

	mill rerun.Runner // compression and pruning of backups
}

var _ zapcore.WriteSyncer = (*File)(nil)

// Open opens path for appending, creating it if needed (never truncating
// it), and returns a File configured by opts. A relative path is made
// absolute. If path is a symbolic link it is resolved once, here: the File
// writes to, checks and rotates the link's target (created if missing),
// and later changes to the link are not noticed.
//
// Open fails if the directory does not exist (unless WithCreateDirs is
// given), if path is a directory, if it cannot be opened for writing, or
// if rotation is configured and path is not a regular file.
func Open(path string, opts ...Option) (*File, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("atomicwrite: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("atomicwrite: %w", err)
	}
	if abs, err = resolveLink(abs); err != nil {
		return nil, err
	}
	if cfg.dirPerm != 0 {
		if err := os.MkdirAll(filepath.Dir(abs), cfg.dirPerm); err != nil {
			return nil, fmt.Errorf("atomicwrite: %w", err)
		}
	}
	f := &File{path: abs, cfg: cfg, fd: -1}
	if err := f.reopen(); err != nil {
		if errNotExist(err) {
			return nil, fmt.Errorf("%w (the directory must exist, or use WithCreateDirs)", err)
		}
		return nil, err
	}
	if cfg.maxSize > 0 && !f.id.regular {
		f.cfg.sys.close(f.fd)
		return nil, fmt.Errorf("atomicwrite: %s is not a regular file and cannot be rotated", abs)
	}
	return f, nil
}

func (c *config) validate() error {
	switch {
	case c.locking < LockAuto || c.locking > LockAlways:
		return fmt.Errorf("atomicwrite: unknown locking level %v", c.locking)
	case c.syncMode < SyncOnSync || c.syncMode > SyncEveryWrite:
		return fmt.Errorf("atomicwrite: unknown sync mode %v", c.syncMode)
	case c.maxSize < 0:
		return fmt.Errorf("atomicwrite: negative max size %d", c.maxSize)
	case c.maxBackups < 0:
		return fmt.Errorf("atomicwrite: negative max backups %d", c.maxBackups)
	case c.maxAge < 0:
		return fmt.Errorf("atomicwrite: negative max age %v", c.maxAge)
	case c.clock == nil:
		return errors.New("atomicwrite: nil clock")
	}
	return nil
}

// resolveLink follows p while it is a symbolic link, so that a link to a
// file not created yet works too.
func resolveLink(p string) (string, error) {
	for range 40 {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return p, nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("atomicwrite: %w", err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
	return "", fmt.Errorf("atomicwrite: %s: too many levels of symbolic links", p)
}

// Path returns the absolute path of the file, symlinks resolved.
func (f *File) Path() string { return f.path }

// Write appends p as one record, its bytes as given (no newline is
// added; see "Bytes as given" in the package documentation), and returns
// len(p) on success. How the record is written depends on the locking
// level (see the package documentation). A record that could only be
// partly written is an error wrapping the cause (io.ErrShortWrite, or the
// errno such as syscall.ENOSPC) and saying how many bytes went out; if the record ended
// with a newline, a newline is then written on a best-effort basis so the
// next record starts on its own line. If rotation fails, the record is
// still written to the current file and the rotation error returned.
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return 0, fmt.Errorf("write %s: %w", f.path, ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := f.maybeCheck(); err != nil {
		return 0, err
	}
	var n int
	var err error
	small := len(p) <= PipeBuf
	switch {
	case f.cfg.maxSize > 0 && f.size > 0 && f.size+int64(len(p)) > f.cfg.maxSize:
		n, err = f.writeLocked(p, lockExclusive) // may rotate
	case small && f.cfg.locking == LockAuto:
		n, err = f.writeOnce(p)
	case small && f.cfg.locking == LockShared:
		n, err = f.writeLocked(p, lockShared)
	default:
		n, err = f.writeLocked(p, lockExclusive)
	}
	if err == nil && f.cfg.syncMode == SyncEveryWrite {
		err = f.fsync()
	}
	return n, err
}

// maybeCheck makes sure, at most once per reopen interval, that the path
// still names our file, and reopens it if not.
func (f *File) maybeCheck() error {
	if f.cfg.reopenCheck > 0 && f.cfg.clock().Sub(f.lastCheck) < f.cfg.reopenCheck {
		return nil
	}
	st, err := f.cfg.sys.stat(f.path)
	switch {
	case err == nil && st.same(f.id):
		f.size = st.size
		f.lastCheck = f.cfg.clock()
		return nil
	case err == nil || errNotExist(err):
		return f.reopen() // rotated or moved away by someone else
	default:
		// Can't tell (e.g. a transient error from the file system): keep
		// writing to the file we have and ask again next time.
		return nil
	}
}

// reopen opens the path and makes it our file, closing the old one.
func (f *File) reopen() error {
	sys := f.cfg.sys
	fd, err := sys.open(f.path, uint32(f.cfg.perm))
	if err != nil {
		return fmt.Errorf("atomicwrite: %w", err)
	}
	id, err := sys.fstat(fd)
	if err != nil {
		sys.close(fd)
		return fmt.Errorf("atomicwrite: fstat %s: %w", f.path, err)
	}
	if f.fd >= 0 {
		sys.close(f.fd) // an error closing a file we wrote nothing more to changes nothing
	}
	f.fd, f.id, f.size = fd, id, id.size
	f.lastCheck = f.cfg.clock()
	return nil
}

// writeOnce writes p with exactly one write(2) and no lock.
func (f *File) writeOnce(p []byte) (int, error) {
	n, err := f.cfg.sys.write(f.fd, p)
	f.size += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return n, f.writeError(p, n, err)
	}
	return n, nil
}

// writeLocked writes p while holding flock(how) on the file the path
// names. Locks belong to the inode, and another process may rename the
// path between our open and our lock; so after every lock we check that
// the path still names our file, and if not we unlock, reopen and try
// again. This is also where rotation happens, under LOCK_EX, which makes
// exactly one process rotate: the others find the path changed once they
// get the lock.
func (f *File) writeLocked(p []byte, how lockHow) (int, error) {
	sys := f.cfg.sys
	for tries := 0; ; tries++ {
		if tries == maxReopens {
			return 0, fmt.Errorf("atomicwrite: write %s: file replaced %d times during one write", f.path, tries)
		}
		if err := sys.flock(f.fd, how); err != nil {
			return 0, fmt.Errorf("atomicwrite: lock %s: %w", f.path, err)
		}
		st, err := sys.stat(f.path)
		if err != nil && !errNotExist(err) {
			f.unlock()
			return 0, fmt.Errorf("atomicwrite: %w", err)
		}
		if err != nil || !st.same(f.id) {
			f.unlock()
			if err := f.reopen(); err != nil {
				return 0, err
			}
			continue
		}
		f.size = st.size
		f.lastCheck = f.cfg.clock()
		if f.cfg.maxSize > 0 && st.size > 0 && st.size+int64(len(p)) > f.cfg.maxSize {
			if how != lockExclusive {
				f.unlock()
				how = lockExclusive
				continue
			}
			if err := f.rotateLocked(); err != nil {
				// Keep the record: write it to the file we have.
				n, werr := f.writeAll(p)
				f.unlock()
				return n, errors.Join(err, werr)
			}
			continue // now lock the new file and write there
		}
		n, err := f.writeAll(p)
		f.unlock()
		return n, err
	}
}

func (f *File) unlock() {
	// Errors are ignored: the lock is released at close at the latest,
	// and nothing was written wrongly.
	f.cfg.sys.flock(f.fd, lockRelease)
}

// writeAll writes all of p, in as many write(2) calls as it takes. The
// caller holds a lock.
func (f *File) writeAll(p []byte) (int, error) {
	written := 0
	var err error
	for written < len(p) {
		var n int
		n, err = f.cfg.sys.write(f.fd, p[written:])
		written += n
		if err != nil {
			break
		}
		if n == 0 {
			err = io.ErrShortWrite
			break
		}
	}
	f.size += int64(written)
	if err != nil {
		return written, f.writeError(p, written, err)
	}
	return written, nil
}

// writeError describes a failed write of p after n bytes went out, and
// terminates a torn line so the next record starts on a line of its own.
func (f *File) writeError(p []byte, n int, err error) error {
	if n > 0 && p[len(p)-1] == '\n' {
		if m, _ := f.cfg.sys.write(f.fd, []byte{'\n'}); m == 1 {
			f.size++
		}
	}
	return fmt.Errorf("atomicwrite: write %s: %d of %d bytes written: %w", f.path, n, len(p), err)
}

// Sync commits the file to stable storage with fsync(2), unless the File
// was opened with WithSync(SyncNever). A file that cannot be synced (a
// pipe or a device) is not an error.
func (f *File) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return fmt.Errorf("sync %s: %w", f.path, ErrClosed)
	}
	if f.cfg.syncMode == SyncNever {
		return nil
	}
	return f.fsync()
}

func (f *File) fsync() error {
	err := f.cfg.sys.fsync(f.fd)
	if err != nil && !f.id.regular && (errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("atomicwrite: fsync %s: %w", f.path, err)
	}
	return nil
}

// Close closes the file and waits for any compression or pruning of
// backups this File started. It does not fsync; call Sync first if that
// matters. Close may be called more than once, also concurrently; every
// call returns the error of the first.
func (f *File) Close() error {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		var err error
		if cerr := f.cfg.sys.close(f.fd); cerr != nil {
			err = fmt.Errorf("atomicwrite: close %s: %w", f.path, cerr)
		}
		f.fd = -1
		f.mu.Unlock()
		// Outside f.mu, as the mill may be waiting for nothing but time.
		f.closeErr = errors.Join(err, f.mill.Wait())
	})
	return f.closeErr
}
