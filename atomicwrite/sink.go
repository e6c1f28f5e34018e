package atomicwrite

import (
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/logfanin/logfanin/internal/sinkurl"
)

// Scheme is the zap sink scheme this package registers when imported:
//
//	import _ "github.com/logfanin/logfanin/atomicwrite"
//
//	cfg := zap.NewProductionConfig()
//	cfg.OutputPaths = []string{"logfanin+append:///var/log/app.log?max_size=100&max_backups=5&compress=true"}
//
// See OpenURL for the URL format.
const Scheme = "logfanin+append"

func init() {
	// The name is this project's own, so it is free unless another copy
	// of this package (another major version, a vendored copy) took it
	// first; that one serves the same URLs. A library never panics at
	// import time over it.
	_ = zap.RegisterSink(Scheme, func(u *url.URL) (zap.Sink, error) {
		f, err := OpenURL(u)
		if err != nil {
			return nil, err
		}
		return f, nil
	})
}

// OpenURL opens the file named by an append URL,
//
//	logfanin+append:///absolute/path?option=value&...
//
// The path must be absolute; a host, user, port, fragment or opaque
// (relative) form is rejected. Options, each at most once:
//
//	max_size=N        rotate above N; N is in MiB, or has a unit B, KiB, MiB or GiB (WithMaxSize)
//	max_backups=N     keep N rotated files, 0 = all (WithMaxBackups)
//	max_age=D         remove rotated files older than D: a Go duration or days as "7d" (WithMaxAge)
//	compress=BOOL     gzip rotated files (WithCompress)
//	local_time=BOOL   name backups in local time (WithLocalTime)
//	lock=LEVEL        auto, shared or always (WithLocking)
//	sync=MODE         sync, never or write (WithSync)
//	perm=OCTAL        permission of a new file, e.g. 0640 (WithPerm)
//	mkdir=OCTAL       create missing directories with this permission (WithCreateDirs)
//	reopen_check=D    Go duration between checks for rotation by others (WithReopenCheck)
//
// An unknown option or a bad value is an error naming it.
func OpenURL(u *url.URL) (*File, error) {
	p, opts, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	return Open(p, opts...)
}

func parseURL(u *url.URL) (string, []Option, error) {
	su, err := sinkurl.Parse(u, Scheme, "atomicwrite", false)
	if err != nil {
		return "", nil, err
	}
	var opts []Option
	err = su.Options(func(key, v string) error {
		var opt Option
		var err error
		switch key {
		case "max_size":
			var n int64
			n, err = sinkurl.Size(v, 1<<20)
			opt = WithMaxSize(n)
		case "max_backups":
			var n int
			n, err = strconv.Atoi(v)
			if err == nil && n < 0 {
				err = fmt.Errorf("negative")
			}
			opt = WithMaxBackups(n)
		case "max_age":
			var d time.Duration
			d, err = sinkurl.Duration(v, true)
			opt = WithMaxAge(d)
		case "reopen_check":
			var d time.Duration
			d, err = sinkurl.Duration(v, false)
			opt = WithReopenCheck(d)
		case "compress":
			var b bool
			b, err = strconv.ParseBool(v)
			opt = WithCompress(b)
		case "local_time":
			var b bool
			b, err = strconv.ParseBool(v)
			opt = WithLocalTime(b)
		case "lock":
			var l Locking
			l, err = parseLocking(v)
			opt = WithLocking(l)
		case "sync":
			var m SyncMode
			m, err = parseSyncMode(v)
			opt = WithSync(m)
		case "perm":
			var m fs.FileMode
			m, err = parsePerm(v)
			opt = WithPerm(m)
		case "mkdir":
			var m fs.FileMode
			m, err = parsePerm(v)
			opt = WithCreateDirs(m)
		default:
			return sinkurl.ErrUnknown
		}
		opts = append(opts, opt)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return su.Path(), opts, nil
}

func parseLocking(v string) (Locking, error) {
	for _, l := range []Locking{LockAuto, LockShared, LockAlways} {
		if v == l.String() {
			return l, nil
		}
	}
	return 0, fmt.Errorf("want auto, shared or always")
}

func parseSyncMode(v string) (SyncMode, error) {
	for _, m := range []SyncMode{SyncOnSync, SyncNever, SyncEveryWrite} {
		if v == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("want sync, never or write")
}

func parsePerm(v string) (fs.FileMode, error) {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 || n == 0 {
		return 0, fmt.Errorf("want an octal permission such as 0640")
	}
	return fs.FileMode(n), nil
}
