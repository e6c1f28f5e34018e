package atomicwrite

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/logfanin/logfanin/internal/backups"
)

// rotateLocked renames the file to a backup name and opens a new one at
// the path. The caller holds LOCK_EX on f.fd and has checked that the path
// names f.fd. On success the old file is unlocked and closed; on error
// f.fd is unchanged and still locked.
func (f *File) rotateLocked() error {
	sys := f.cfg.sys
	backup, err := f.backupName(f.cfg.clock())
	if err != nil {
		return err
	}
	if err := sys.rename(f.path, backup); err != nil {
		return fmt.Errorf("atomicwrite: rotate: %w", err)
	}
	// From here the path is missing until open creates it again. A sibling
	// that looks now creates it itself; O_CREAT without O_EXCL then opens
	// the same new file here.
	fd, err := sys.open(f.path, f.id.perm)
	if err != nil {
		return fmt.Errorf("atomicwrite: rotate: %w", err)
	}
	id, err := sys.fstat(fd)
	if err != nil {
		sys.close(fd)
		return fmt.Errorf("atomicwrite: rotate: fstat %s: %w", f.path, err)
	}
	f.unlock()
	sys.close(f.fd)
	f.fd, f.id, f.size = fd, id, id.size
	f.startMill()
	return nil
}

// backupName returns a backup name for time t that is not taken yet. Two
// rotations within one millisecond get successive milliseconds, so names
// sort in rotation order.
func (f *File) backupName(t time.Time) (string, error) {
	if !f.cfg.localTime {
		t = t.UTC()
	}
	for range 1000 {
		name := backups.Name(f.path, t)
		_, err1 := os.Lstat(name)
		_, err2 := os.Lstat(name + ".gz")
		if errNotExist(err1) && errNotExist(err2) {
			return name, nil
		}
		t = t.Add(time.Millisecond)
	}
	return "", fmt.Errorf("atomicwrite: rotate %s: no free backup name", f.path)
}

// settleDelay is how long after a rotation a backup may still receive
// records from siblings that have not noticed the rotation yet: those
// writing without a lock look at the path once per reopen interval.
// Backups younger than this are neither compressed nor removed.
func (f *File) settleDelay() time.Duration {
	return max(2*f.cfg.reopenCheck, time.Second)
}

// startMill runs compression and pruning of the backups in the
// background, one run at a time, owned by the File: Close waits for it.
func (f *File) startMill() {
	if !f.cfg.compress && f.cfg.maxBackups == 0 && f.cfg.maxAge == 0 {
		return
	}
	f.mill.Start(f.cleanup)
}

// cleanup removes backups beyond MaxBackups or older than MaxAge, and
// compresses the rest if asked to. Backups younger than settleDelay are
// left alone: a sibling may still be appending to them.
func (f *File) cleanup() error {
	loc := time.UTC
	if f.cfg.localTime {
		loc = time.Local
	}
	list, err := backups.List(f.path, loc)
	if err != nil {
		return fmt.Errorf("atomicwrite: %w", err)
	}
	now := f.cfg.clock()
	settled := now.Add(-f.settleDelay())
	var errs []error
	for i, b := range slices.Backward(list) {
		newer := len(list) - 1 - i // backups newer than b
		if b.Time.After(settled) {
			continue
		}
		tooMany := f.cfg.maxBackups > 0 && newer >= f.cfg.maxBackups
		tooOld := f.cfg.maxAge > 0 && b.Time.Before(now.Add(-f.cfg.maxAge))
		if tooMany || tooOld {
			for _, p := range []string{b.Plain, b.GZ} {
				if p == "" {
					continue
				}
				// Siblings prune too: someone else removing it first is fine.
				if err := os.Remove(p); err != nil && !errNotExist(err) {
					errs = append(errs, fmt.Errorf("atomicwrite: prune: %w", err))
				}
			}
			continue
		}
		if f.cfg.compress && b.Plain != "" {
			if err := backups.Compress(b.Plain); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
