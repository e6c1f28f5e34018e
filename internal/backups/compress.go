//go:build unix

package backups

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Compress gzips the rotated file src to src.gz and removes src. It
// holds LOCK_EX on src meanwhile, without waiting: if another process
// holds it (compressing, or a locked writer about to find out the file was
// rotated) it does nothing and returns nil, leaving src for later. Writing
// to a temporary name and renaming means a crash leaves either src or a
// complete src.gz, never a truncated src.gz beside a removed src.
func Compress(src string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // a sibling did it
		}
		return fmt.Errorf("compress %s: %w", src, err)
	}
	defer in.Close()
	locked, err := tryLock(in)
	if err != nil || !locked {
		return err
	}
	// Whoever compressed before us removed src after we opened it.
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if cur, err := os.Stat(src); err != nil || !os.SameFile(fi, cur) {
		return nil
	}
	tmp := src + ".gz.tmp"
	os.Remove(tmp) // left over from a crash
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := os.Rename(tmp, src+".gz"); err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := os.Remove(src); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	return nil
}

// tryLock takes LOCK_EX on f without waiting. It reports false if another
// descriptor holds a lock on the file. Closing f releases the lock.
func tryLock(f *os.File) (bool, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := conn.Control(func(fd uintptr) {
		ferr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
	}); err != nil {
		return false, err
	}
	if ferr == unix.EWOULDBLOCK || ferr == unix.EINTR {
		return false, nil
	}
	if ferr != nil {
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return true, nil
}
