package writer

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/logfanin/logfanin/internal/unixsock"
)

func TestListenSocketMode(t *testing.T) {
	f := newFixture(t)
	// The widest umask: the mode must not depend on it. (Set after the
	// fixture made its directory, which would otherwise be writable by
	// all and refused by the symlink rule.)
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for _, addr := range []string{"unix://" + f.sock("s.sock"), "unixgram://" + f.sock("g.sock")} {
		f.listen(addr)
	}
	for _, name := range []string{"s.sock", "g.sock"} {
		fi, err := os.Lstat(f.sock(name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want socket 0600", name, fi.Mode())
		}
	}
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".logfanin-") {
			t.Errorf("temporary directory %s left behind", e.Name())
		}
	}
	f.shutdown()
	for _, name := range []string{"s.sock", "g.sock"} {
		if _, err := os.Lstat(f.sock(name)); !os.IsNotExist(err) {
			t.Errorf("%s not removed at shutdown: %v", name, err)
		}
	}
}

func TestListenSocketModeOption(t *testing.T) {
	f := newFixture(t, WithSocketMode(0o660), WithSocketGroup(os.Getgid()))
	f.listen("unix://" + f.sock("s.sock"))
	fi, err := os.Lstat(f.sock("s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("mode %v", fi.Mode())
	}
}

func TestListenStaleReplaced(t *testing.T) {
	f := newFixture(t)
	for _, network := range []string{"unix", "unixgram"} {
		path := f.sock(network + ".sock")
		// A socket whose owner is gone: bound, then closed without unlink.
		fd, err := syscall.Socket(syscall.AF_UNIX, map[string]int{"unix": syscall.SOCK_STREAM, "unixgram": syscall.SOCK_DGRAM}[network], 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd)
		f.listen(network + "://" + path)
	}
	if err := sendRaw(f.sock("unix.sock"), `{"ok":1}`); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unixgram", f.sock("unixgram.sock"))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(`{"ok":2}`))
	c.Close()
	waitFor(t, "records", func() bool {
		return f.s.Stats().Datagrams == 1 && f.s.Stats().Connections == 1 && f.s.Stats().ClientsNow == 0
	})
	if n := len(f.lines()); n != 2 {
		t.Errorf("%d lines", n)
	}
}

func TestListenRefused(t *testing.T) {
	f := newFixture(t)
	live := f.sock("live.sock")
	f.listen("unix://" + live)
	gl := f.sock("live.gsock")
	f.listen("unixgram://" + gl)
	file := f.sock("file")
	os.WriteFile(file, nil, 0o600)
	s2 := New(NewStreamOutput(os.Stdout))
	defer s2.Shutdown(t.Context())
	cases := []struct{ addr, want string }{
		{"unix://" + live, "another writer is listening on " + live},
		{"unixgram://" + gl, "another writer is listening on " + gl},
		{"unix://" + file, "not a socket"},
		{"unix://" + f.dir, "not a socket"},
		{"unix://", "want unix://PATH"},
		{"tcp://localhost:1", `unknown scheme "tcp"`},
		{"/run/x.sock", `no scheme`},
		{"fd:x", `want fd:N`},
		{"fd:999", "bad file descriptor"},
		{"unix://" + filepath.Join(f.dir, "missing", "dir", "s.sock"), "no such file"},
	}
	for _, tc := range cases {
		err := s2.Listen(tc.addr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Listen(%q) = %v, want error containing %q", tc.addr, err, tc.want)
		}
	}
	// A regular file is never touched.
	if fi, err := os.Lstat(file); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("file: %v %v", fi, err)
	}
	// The live socket still works.
	if err := sendRaw(live, `{}`); err != nil {
		t.Fatal(err)
	}
}

func TestListenFDNotPipe(t *testing.T) {
	s := New(NewStreamOutput(os.Stdout))
	defer s.Shutdown(t.Context())
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.Listen("fd:" + itoa(int(f.Fd()))); err == nil || !strings.Contains(err.Error(), "not a pipe") {
		t.Errorf("got %v", err)
	}
}

// A socket path short enough for bind but whose private temporary
// directory beside it is not still appears only with its mode set.
func TestListenLongSocketPath(t *testing.T) {
	f := newFixture(t)
	dir := f.dir
	for len(filepath.Join(dir, "s.sock")) < unixsock.MaxPath-12 {
		dir = filepath.Join(dir, "d")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.sock")
	if len(filepath.Join(dir, ".logfanin-1234567890", "s")) <= unixsock.MaxPath {
		t.Fatalf("path %d bytes: not long enough to test", len(path))
	}
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	f.listen("unix://" + path)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want socket 0600", fi.Mode())
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close()
	// The peer's address is where the socket was bound: somewhere else,
	// then renamed to path with its mode set, never bound at path itself
	// with the umask's mode.
	if got := c.RemoteAddr().String(); got == path {
		t.Errorf("socket bound at %s itself", got)
	}
}
