package atomicwrite

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/wire"
	"golang.org/x/sys/unix"
)

func record(p, s, size int) []byte {
	return logcheck.Make(nil, p, s, size, rand.New(rand.NewPCG(uint64(p), uint64(s))))
}

func mustOpen(t *testing.T, path string, opts ...Option) *File {
	t.Helper()
	f, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func check(t *testing.T, path string, expect map[int]int) logcheck.Report {
	t.Helper()
	rep, err := logcheck.CheckLog(expect, path)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("%v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	return rep
}

func TestFastPathIsOneWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	spy, clock := newSpy(), newFakeClock()
	f := mustOpen(t, path, withSys(spy), WithClock(clock.Now))
	spy.take()
	sizes := []int{logcheck.MinSize, 1000, PipeBuf - 1, PipeBuf}
	for i, size := range sizes {
		if n, err := f.Write(record(1, i, size)); err != nil || n != size {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got := spy.take(); len(got) != 1 || got["write"] != len(sizes) {
		t.Fatalf("small records: system calls %v, want only %d writes", got, len(sizes))
	}

	// A large record takes the lock and checks the path once.
	if _, err := f.Write(record(1, len(sizes), PipeBuf+1)); err != nil {
		t.Fatal(err)
	}
	if got := spy.take(); got["write"] != 1 || got["flock"] != 2 || got["stat"] != 1 || len(got) != 3 {
		t.Fatalf("large record: system calls %v, want write 1, flock 2, stat 1", got)
	}

	// After the reopen interval, one stat, then the fast path again.
	clock.Advance(DefaultReopenCheck)
	f.Write(record(1, len(sizes)+1, 200))
	f.Write(record(1, len(sizes)+2, 200))
	if got := spy.take(); got["write"] != 2 || got["stat"] != 1 || len(got) != 2 {
		t.Fatalf("after interval: system calls %v, want write 2, stat 1", got)
	}
	check(t, path, map[int]int{1: len(sizes) + 3})
}

func TestSyncModes(t *testing.T) {
	for _, tt := range []struct {
		mode              SyncMode
		perWrite, perSync int
	}{{SyncOnSync, 0, 1}, {SyncNever, 0, 0}, {SyncEveryWrite, 1, 1}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			spy := newSpy()
			f := mustOpen(t, filepath.Join(t.TempDir(), "a.log"), withSys(spy), WithSync(tt.mode))
			spy.take()
			f.Write([]byte("x\n"))
			if got := spy.take()["fsync"]; got != tt.perWrite {
				t.Errorf("fsync per write = %d, want %d", got, tt.perWrite)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			if got := spy.take()["fsync"]; got != tt.perSync {
				t.Errorf("fsync per Sync = %d, want %d", got, tt.perSync)
			}
		})
	}
}

// TestLockInterplay holds a lock on the file from another descriptor, as
// a sibling would, and shows which records wait for it at each level.
func TestLockInterplay(t *testing.T) {
	tests := []struct {
		level  Locking
		held   int // LOCK_EX or LOCK_SH held by the "sibling"
		size   int
		blocks bool
	}{
		{LockAuto, unix.LOCK_EX, 200, false},
		{LockAuto, unix.LOCK_EX, PipeBuf, false},
		{LockAuto, unix.LOCK_EX, PipeBuf + 1, true},
		{LockAuto, unix.LOCK_SH, PipeBuf + 1, true},
		{LockShared, unix.LOCK_EX, 200, true},
		{LockShared, unix.LOCK_SH, 200, false}, // small records don't wait for each other
		{LockShared, unix.LOCK_SH, 100000, true},
		{LockAlways, unix.LOCK_EX, 200, true},
		{LockAlways, unix.LOCK_SH, 200, true},
	}
	for _, tt := range tests {
		name := tt.level.String() + "/" + map[int]string{unix.LOCK_EX: "EX", unix.LOCK_SH: "SH"}[tt.held] + "/" + map[bool]string{true: "large", false: "small"}[tt.size > PipeBuf]
		if tt.size == PipeBuf {
			name += "-pipebuf"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			spy := newSpy()
			locking := make(chan struct{}, 1)
			spy.onFlock = func(how lockHow) {
				if how != lockRelease {
					select {
					case locking <- struct{}{}:
					default:
					}
				}
			}
			f := mustOpen(t, path, withSys(spy), WithLocking(tt.level))
			sib, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer sib.Close()
			if err := unix.Flock(int(sib.Fd()), tt.held); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := f.Write(record(1, 0, tt.size))
				done <- err
			}()
			if !tt.blocks {
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("write blocked on a lock it should not take")
				}
				unix.Flock(int(sib.Fd()), unix.LOCK_UN)
				check(t, path, map[int]int{1: 1})
				return
			}
			<-locking // the write has reached flock
			select {
			case err := <-done:
				t.Fatalf("write did not wait for the sibling's lock (err %v)", err)
			case <-time.After(50 * time.Millisecond): // a negative check needs a deadline
			}
			if fi, _ := os.Stat(path); fi.Size() != 0 {
				t.Fatal("record written while the sibling held the lock")
			}
			unix.Flock(int(sib.Fd()), unix.LOCK_UN)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			check(t, path, map[int]int{1: 1})
		})
	}
}

func TestShortWriteIsAnError(t *testing.T) {
	for _, size := range []int{300, 100000} {
		path := filepath.Join(t.TempDir(), "app.log")
		spy := newSpy()
		f := mustOpen(t, path, withSys(spy))
		calls := 0
		spy.onWrite = func(fd int, p []byte, real func(int, []byte) (int, error)) (int, error) {
			calls++
			switch calls {
			case 1:
				return real(fd, p[:len(p)/2]) // short
			case 2:
				if size > PipeBuf {
					return 0, nil // under the lock we retry; a zero write is short
				}
			}
			return real(fd, p)
		}
		rec := record(1, 0, size)
		n, err := f.Write(rec)
		if !errors.Is(err, io.ErrShortWrite) || n != size/2 {
			t.Fatalf("size %d: Write = %d, %v; want %d, ErrShortWrite", size, n, err, size/2)
		}
		if !strings.Contains(err.Error(), "of") || !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not say what was written where", err)
		}
		// The torn line is terminated, so the next record is intact.
		f.Write(record(1, 1, 200))
		data, _ := os.ReadFile(path)
		if !bytes.HasSuffix(data, record(1, 1, 200)) || bytes.Count(data, []byte("\n")) != 2 {
			t.Fatalf("size %d: file = %q", size, data[:min(len(data), 300)])
		}
	}
}

func TestDiskFull(t *testing.T) {
	t.Run("dev-full", func(t *testing.T) {
		f, err := Open("/dev/full")
		if err != nil {
			t.Skipf("no /dev/full: %v", err)
		}
		defer f.Close()
		for _, size := range []int{200, 100000} {
			n, err := f.Write(record(1, 0, size))
			if !errors.Is(err, syscall.ENOSPC) || n != 0 {
				t.Fatalf("Write(%d bytes) = %d, %v; want ENOSPC", size, n, err)
			}
		}
		if err := f.Sync(); err != nil {
			t.Fatalf("Sync on a device: %v", err)
		}
		if _, err := Open("/dev/full", WithMaxSize(1)); err == nil {
			t.Fatal("rotating a device accepted")
		}
	})
	t.Run("midway", func(t *testing.T) {
		// The disk fills up in the middle of a large record.
		path := filepath.Join(t.TempDir(), "app.log")
		spy := newSpy()
		f := mustOpen(t, path, withSys(spy))
		calls := 0
		spy.onWrite = func(fd int, p []byte, real func(int, []byte) (int, error)) (int, error) {
			calls++
			if calls == 1 {
				return real(fd, p[:5000])
			}
			return 0, syscall.ENOSPC
		}
		n, err := f.Write(record(1, 0, 100000))
		if !errors.Is(err, syscall.ENOSPC) || n != 5000 {
			t.Fatalf("Write = %d, %v; want 5000, ENOSPC", n, err)
		}
		if !strings.Contains(err.Error(), "5000 of 100000 bytes") {
			t.Errorf("error %q does not say how much was written", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing", "app.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: err = %v", err)
	}
	if _, err := Open(dir); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("directory: err = %v", err)
	}
	if _, err := Open(""); err == nil {
		t.Error("empty path accepted")
	}
	for _, opt := range []Option{WithLocking(7), WithSync(9), WithMaxSize(-1), WithMaxBackups(-1), WithMaxAge(-1), WithClock(nil)} {
		if _, err := Open(filepath.Join(dir, "x.log"), opt); err == nil {
			t.Errorf("bad option accepted")
		}
	}
	dangling := filepath.Join(dir, "dangling.log")
	os.Symlink(filepath.Join(dir, "nowhere", "x.log"), dangling)
	if _, err := Open(dangling); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("symlink into a missing directory: err = %v", err)
	}

	// WithCreateDirs creates the missing directories.
	deep := filepath.Join(dir, "a", "b", "app.log")
	f, err := Open(deep, WithCreateDirs(0o750))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, err := os.Stat(filepath.Dir(deep)); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("created directory: %v, %v", fi, err)
	}
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root bypasses file permissions; the EACCES path is the same error return as the directory case")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ro.log")
	os.WriteFile(path, nil, 0o444)
	if _, err := Open(path); !errors.Is(err, os.ErrPermission) {
		t.Errorf("read-only file: err = %v", err)
	}
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	if _, err := Open(filepath.Join(dir, "new.log")); !errors.Is(err, os.ErrPermission) {
		t.Errorf("read-only directory: err = %v", err)
	}
}

func TestPermissionDeniedInjected(t *testing.T) {
	// What root cannot reproduce with modes: the open fails with EACCES.
	spy := &denySys{sysCalls: osSys{}}
	_, err := Open(filepath.Join(t.TempDir(), "app.log"), withSys(spy))
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("err = %v", err)
	}
}

type denySys struct{ sysCalls }

func (denySys) open(path string, _ uint32) (int, error) {
	return -1, &os.PathError{Op: "open", Path: path, Err: syscall.EACCES}
}

func TestSymlinkFollowedAtOpen(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	target := filepath.Join(dir, "real", "app.log")
	link := filepath.Join(dir, "app.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	f := mustOpen(t, link, WithMaxSize(600), WithClock(clock.Now))
	if f.Path() != target {
		t.Fatalf("Path() = %q, want %q", f.Path(), target)
	}
	for i := range 3 {
		clock.Advance(time.Second)
		f.Write(record(1, i, 300))
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link itself was rotated")
	}
	files, _ := logcheck.LogFiles(target)
	if len(files) != 2 {
		t.Fatalf("files next to the target: %q", files)
	}
	check(t, target, map[int]int{1: 3})
}

func TestCloseIdempotent(t *testing.T) {
	spy := &closeFailSys{sysCalls: osSys{}}
	f, err := Open(filepath.Join(t.TempDir(), "app.log"), withSys(spy))
	if err != nil {
		t.Fatal(err)
	}
	err1, err2 := f.Close(), f.Close()
	if err1 == nil || err1 != err2 {
		t.Fatalf("Close = %v, then %v; want the same error twice", err1, err2)
	}
	if _, err := f.Write([]byte("x\n")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := f.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}

	g := mustOpen(t, filepath.Join(t.TempDir(), "b.log"))
	if err := g.Close(); err != nil || g.Close() != nil {
		t.Fatal("clean Close returned an error")
	}
}

type closeFailSys struct{ sysCalls }

func (c closeFailSys) close(fd int) error {
	c.sysCalls.close(fd)
	return syscall.EIO
}

func TestConcurrentGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	f := mustOpen(t, path, WithMaxSize(64<<10), WithReopenCheck(0))
	const producers, each = 8, 50
	done := make(chan struct{})
	for p := range producers {
		go func() {
			defer func() { done <- struct{}{} }()
			rng := rand.New(rand.NewPCG(uint64(p), 0))
			sizes := logcheck.Sizes(uint64(p), each, 20000)
			var buf []byte
			for s, size := range sizes {
				buf = logcheck.Make(buf[:0], p, s, size, rng)
				if _, err := f.Write(buf); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range producers {
		<-done
	}
	expect := map[int]int{}
	for p := range producers {
		expect[p] = each
	}
	check(t, path, expect)
}

// TestWriteBytesAsGiven: a File writes each record's bytes as given, as
// its documentation says: no newline added, none removed, nothing
// escaped. zap and slog end their records with a newline themselves.
func TestWriteBytesAsGiven(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	f := mustOpen(t, path)
	recs := []string{`{"a":1}`, `{"b":2}` + "\n", "{\n\"c\": 3\n}\n", "text \xff"}
	for _, r := range recs {
		if n, err := f.Write([]byte(r)); err != nil || n != len(r) {
			t.Fatalf("Write(%q) = %d, %v", r, n, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(recs, ""); string(b) != want {
		t.Errorf("file holds %q, want %q", b, want)
	}
}

// TestPipeBufIsTheProtocols: direct mode's unlocked writes and the pipe
// chunks of fan-in mode rest on the same PIPE_BUF.
func TestPipeBufIsTheProtocols(t *testing.T) {
	if PipeBuf != wire.PipeBuf {
		t.Errorf("PipeBuf %d, wire.PipeBuf %d", PipeBuf, wire.PipeBuf)
	}
}
