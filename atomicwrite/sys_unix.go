//go:build unix

package atomicwrite

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// osSys is the real operating system.
type osSys struct{}

var _ sysCalls = osSys{}

func (osSys) open(path string, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC, perm)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

func (osSys) write(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR && n <= 0 {
			continue // nothing was written; retrying keeps it one record
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func (osSys) flock(fd int, how lockHow) error {
	op := unix.LOCK_UN
	switch how {
	case lockShared:
		op = unix.LOCK_SH
	case lockExclusive:
		op = unix.LOCK_EX
	}
	for {
		err := unix.Flock(fd, op)
		if err != unix.EINTR {
			return err
		}
	}
}

func toID(st *unix.Stat_t) fileID {
	return fileID{
		dev:     uint64(st.Dev),
		ino:     uint64(st.Ino),
		size:    st.Size,
		perm:    uint32(st.Mode) & 0o777,
		regular: uint32(st.Mode)&unix.S_IFMT == unix.S_IFREG,
	}
}

func (osSys) fstat(fd int) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileID{}, err
	}
	return toID(&st), nil
}

func (osSys) stat(path string) (fileID, error) {
	var st unix.Stat_t
	for {
		err := unix.Stat(path, &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fileID{}, &os.PathError{Op: "stat", Path: path, Err: err}
		}
		return toID(&st), nil
	}
}

func (osSys) fsync(fd int) error {
	for {
		err := unix.Fsync(fd)
		if err != unix.EINTR {
			return err
		}
	}
}

func (osSys) close(fd int) error { return unix.Close(fd) }

func (osSys) rename(from, to string) error { return os.Rename(from, to) }

// errNotExist reports whether err means the path does not exist.
func errNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
