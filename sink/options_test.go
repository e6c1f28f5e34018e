package sink

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
)

func TestOversize(t *testing.T) {
	srv := newStreamServer(t, 1)
	s, err := New(srv.addr(), WithMaxRecord(100))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Write(make([]byte, 101))
	var se *SizeError
	if n != 0 || !errors.As(err, &se) || se.Len != 101 || !errors.Is(err, ErrTooLarge) || se.Max != 100 {
		t.Fatalf("Write = %d, %v; want a SizeError", n, err)
	}
	if !strings.Contains(err.Error(), "101") {
		t.Errorf("error %q does not say the size", err)
	}
	if _, err := s.Write([]byte(`{"ok":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := datas(srv.records()); len(got) != 1 || got[0] != `{"ok":1}` {
		t.Fatalf("server got %q", got)
	}
	if st := s.Stats(); st.Oversize != 1 || st.Sent != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestBufferLimitsRecord: a record that can't fit the buffer is refused.
func TestBufferLimitsRecord(t *testing.T) {
	s, err := New("unix://"+filepath.Join(t.TempDir(), "none"), WithBufferSize(1000),
		WithErrorOutput(&syncbuf.Buffer{}), WithCloseTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var se *SizeError
	if _, err := s.Write(make([]byte, 997)); !errors.As(err, &se) || se.Max != 996 {
		t.Fatalf("Write = %v", err)
	}
}

func TestBadAddress(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct{ addr, want string }{
		{"/run/app.sock", "no scheme"},
		{"tcp://host:1", "unknown scheme"},
		{"unix://", "unix://PATH"},
		{"unix:/x", "unix://PATH"},
		{"unixgram://", "unixgram://PATH"},
		{"fd:", "fd:N"},
		{"fd:x", "fd:N"},
		{"fd:-1", "fd:N"},
		{"fd:999999", "not open"},
		{"fd:" + itoa(r.Fd()), "not open for writing"},
		{"fd:" + itoa(f.Fd()), "not a pipe"},
	} {
		s, err := New(tc.addr)
		if err == nil {
			s.Close()
			t.Errorf("New(%q) succeeded", tc.addr)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q) = %v, want %q in it", tc.addr, err, tc.want)
		}
	}
	if _, err := New("unixgram:///x", WithAck(true)); err == nil || !strings.Contains(err.Error(), "stream") {
		t.Errorf("ack on unixgram: %v", err)
	}
	if _, err := New("unix:///x", WithBufferSize(2)); err == nil {
		t.Error("tiny buffer accepted")
	}
}

func itoa(fd uintptr) string { return strconv.FormatUint(uint64(fd), 10) }

func TestEnvAddr(t *testing.T) {
	t.Setenv(wire.EnvAddr, "")
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), wire.EnvAddr) {
		t.Errorf("unset: %v", err)
	}
	os.Unsetenv(wire.EnvAddr)
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), wire.EnvAddr) {
		t.Errorf("unset: %v", err)
	}
	t.Setenv(wire.EnvAddr, "bogus")
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), wire.EnvAddr) || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("invalid: %v", err)
	}
	srv := newStreamServer(t, 1)
	t.Setenv(wire.EnvAddr, srv.addr())
	s, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Addr() != srv.addr() {
		t.Errorf("Addr() = %q", s.Addr())
	}
	s.Write([]byte("{}"))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(srv.records()) != 1 {
		t.Error("record not received")
	}
}
