package atomicwrite

// fileID identifies a file the way the kernel does, plus what a stat call
// tells us about it.
type fileID struct {
	dev, ino uint64
	size     int64
	perm     uint32 // permission bits
	regular  bool
}

// same reports whether a and b are the same file.
func (a fileID) same(b fileID) bool { return a.dev == b.dev && a.ino == b.ino }

// sysCalls is the operating system seen by a File: raw descriptors, so
// that one record is exactly one write(2) (os.File.Write would silently
// retry a short write, tearing the record). It is a struct field so tests
// can count or fail calls without package globals.
type sysCalls interface {
	open(path string, perm uint32) (fd int, err error) // O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, never O_TRUNC
	write(fd int, p []byte) (int, error)               // one write(2)
	flock(fd int, how lockHow) error                   // blocks; retries EINTR
	fstat(fd int) (fileID, error)
	stat(path string) (fileID, error) // follows symlinks
	fsync(fd int) error
	close(fd int) error
	rename(from, to string) error
}

// lockHow is an flock operation.
type lockHow int

const (
	lockShared lockHow = iota + 1
	lockExclusive
	lockRelease
)
