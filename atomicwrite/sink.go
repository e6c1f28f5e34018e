package atomicwrite

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// SinkScheme is the zap sink scheme this package registers when imported:
//
//	import _ "github.com/logfanin/logfanin/atomicwrite"
//
//	cfg := zap.NewProductionConfig()
//	cfg.OutputPaths = []string{"append:///var/log/app.log?max_size=100&max_backups=5&compress=true"}
//
// See OpenURL for the URL format.
const SinkScheme = "append"

func init() {
	err := zap.RegisterSink(SinkScheme, func(u *url.URL) (zap.Sink, error) {
		f, err := OpenURL(u)
		if err != nil {
			return nil, err
		}
		return f, nil
	})
	if err != nil {
		panic(fmt.Sprintf("atomicwrite: register zap sink %q: %v", SinkScheme, err))
	}
}

// OpenURL opens the file named by an append URL,
//
//	append:///absolute/path?option=value&...
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
	bad := func(format string, args ...any) (string, []Option, error) {
		return "", nil, fmt.Errorf("atomicwrite: sink URL %q: "+format, append([]any{u.Redacted()}, args...)...)
	}
	switch {
	case u.Scheme != SinkScheme:
		return bad("scheme %q is not %q", u.Scheme, SinkScheme)
	case u.Opaque != "":
		return bad("relative path %q: use %s:///absolute/path", u.Opaque, SinkScheme)
	case u.User != nil:
		return bad("user info not allowed")
	case u.Host != "":
		return bad("host %q not allowed: use %s:///absolute/path", u.Host, SinkScheme)
	case u.Fragment != "":
		return bad("fragment %q not allowed", u.Fragment)
	case u.Path == "" || !path.IsAbs(u.Path):
		return bad("path %q is not absolute", u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	var opts []Option
	for key, vals := range q {
		if len(vals) != 1 {
			return bad("option %q given %d times", key, len(vals))
		}
		v := vals[0]
		var opt Option
		var err error
		switch key {
		case "max_size":
			var n int64
			n, err = parseSize(v)
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
			d, err = parseDuration(v, true)
			opt = WithMaxAge(d)
		case "reopen_check":
			var d time.Duration
			d, err = parseDuration(v, false)
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
			return bad("unknown option %q", key)
		}
		if err != nil {
			return bad("option %s=%q: %v", key, v, err)
		}
		opts = append(opts, opt)
	}
	return u.Path, opts, nil
}

// parseSize parses "100" (MiB), "100MiB", "256KiB", "1GiB" or "4096B".
func parseSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}, {"", 1 << 20}}
	for _, u := range units {
		num, ok := strings.CutSuffix(v, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 || n > (1<<62)/u.mult {
			return 0, fmt.Errorf("want a size such as 100 (MiB), 256KiB or 1GiB")
		}
		return n * u.mult, nil
	}
	panic("unreachable")
}

// parseDuration parses a Go duration, and if days is set also "7d".
func parseDuration(v string, days bool) (time.Duration, error) {
	if num, ok := strings.CutSuffix(v, "d"); ok && days {
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("want a number of days such as 7d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a non-negative duration such as 1s")
	}
	return d, nil
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
