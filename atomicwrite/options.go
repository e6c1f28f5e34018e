package atomicwrite

import (
	"fmt"
	"io/fs"
	"time"
)

// Locking selects when a File takes flock(2) around a record. See the
// package documentation for what each level guarantees.
type Locking int

const (
	// LockAuto, the default, writes a record of at most PipeBuf bytes with
	// one write(2) and no lock, and a larger record while holding
	// LOCK_EX.
	LockAuto Locking = iota
	// LockShared also takes LOCK_SH around small records, so a large
	// record never interleaves with small ones even if the kernel splits
	// it into several writes.
	LockShared
	// LockAlways takes LOCK_EX around every record. Use it where an
	// O_APPEND write is not atomic, such as NFS.
	LockAlways
)

// String returns the name used in sink URLs: "auto", "shared" or "always".
func (l Locking) String() string {
	switch l {
	case LockAuto:
		return "auto"
	case LockShared:
		return "shared"
	case LockAlways:
		return "always"
	}
	return fmt.Sprintf("Locking(%d)", int(l))
}

// SyncMode selects when a File calls fsync(2).
type SyncMode int

const (
	// SyncOnSync, the default, makes Sync call fsync.
	SyncOnSync SyncMode = iota
	// SyncNever makes Sync a no-op; data reaches the disk when the kernel
	// writes it back.
	SyncNever
	// SyncEveryWrite calls fsync after every record, and on Sync.
	SyncEveryWrite
)

// String returns the name used in sink URLs: "sync", "never" or "write".
func (m SyncMode) String() string {
	switch m {
	case SyncOnSync:
		return "sync"
	case SyncNever:
		return "never"
	case SyncEveryWrite:
		return "write"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Defaults for the options.
const (
	// DefaultPerm is the permission of a newly created log file, before
	// the umask.
	DefaultPerm fs.FileMode = 0o644
	// DefaultReopenCheck is how often a File checks whether the path
	// still names its file (another process rotated it, or logrotate
	// moved it).
	DefaultReopenCheck = time.Second
)

// An Option configures a File. Options are made by the With functions.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds the settings of a File; its zero value is not used, see
// defaultConfig.
type config struct {
	locking     Locking
	maxSize     int64
	maxBackups  int
	maxAge      time.Duration
	compress    bool
	localTime   bool
	syncMode    SyncMode
	perm        fs.FileMode
	dirPerm     fs.FileMode // 0: do not create directories
	clock       func() time.Time
	reopenCheck time.Duration
	sys         sysCalls
}

func defaultConfig() config {
	return config{
		perm:        DefaultPerm,
		clock:       time.Now,
		reopenCheck: DefaultReopenCheck,
		sys:         osSys{},
	}
}

// WithLocking sets the locking level. The default is LockAuto. Every
// process writing the file should use the same level.
func WithLocking(l Locking) Option {
	return optionFunc(func(c *config) { c.locking = l })
}

// WithMaxSize makes the File rotate when a record would take the file over
// maxBytes bytes. The default, 0, never rotates. A single record larger
// than maxBytes is written whole into an empty file. The limit can be
// exceeded by what other processes write between two checks (see
// WithReopenCheck).
func WithMaxSize(maxBytes int64) Option {
	return optionFunc(func(c *config) { c.maxSize = maxBytes })
}

// WithMaxBackups sets how many rotated files to keep. The default, 0,
// keeps all of them (subject to WithMaxAge).
func WithMaxBackups(n int) Option {
	return optionFunc(func(c *config) { c.maxBackups = n })
}

// WithMaxAge removes rotated files whose timestamp is older than d. The
// default, 0, removes none by age.
func WithMaxAge(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxAge = d })
}

// WithCompress gzips rotated files. The default is not to. A backup is
// compressed at a later rotation, once it is old enough that no sibling
// process can still be appending to it (see the package documentation).
func WithCompress(on bool) Option {
	return optionFunc(func(c *config) { c.compress = on })
}

// WithLocalTime names backups by local time instead of UTC (the default).
func WithLocalTime(on bool) Option {
	return optionFunc(func(c *config) { c.localTime = on })
}

// WithSync sets when the File calls fsync. The default is SyncOnSync.
func WithSync(m SyncMode) Option {
	return optionFunc(func(c *config) { c.syncMode = m })
}

// WithPerm sets the permission of a newly created log file (before the
// umask). The default is DefaultPerm (0644). A file created by rotation
// takes the permission bits of the file it replaces.
func WithPerm(perm fs.FileMode) Option {
	return optionFunc(func(c *config) { c.perm = perm.Perm() })
}

// WithCreateDirs makes Open create missing parent directories with the
// given permission. By default a missing directory is an error, so that a
// mistyped path is noticed.
func WithCreateDirs(perm fs.FileMode) Option {
	return optionFunc(func(c *config) { c.dirPerm = perm.Perm() })
}

// WithClock sets the clock used to name backups, to judge their age and to
// schedule reopen checks. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.clock = now })
}

// WithReopenCheck sets how often, at most, a write first checks whether
// the path still names the open file, and reopens it if not. The default
// is DefaultReopenCheck (1 s); 0 or less checks before every record, at
// the cost of a stat(2) per record. Every process writing the file should
// use the same interval: compression and pruning wait for twice the
// interval after a rotation so that no sibling still writes to the file.
func WithReopenCheck(d time.Duration) Option {
	return optionFunc(func(c *config) { c.reopenCheck = d })
}
