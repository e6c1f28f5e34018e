package sink

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
)

// TestErrorFrame: the writer's error frame goes to the error output, and
// the Sink reconnects and replays.
func TestErrorFrame(t *testing.T) {
	srv := &streamServer{t: t, path: filepath.Join(t.TempDir(), "w.sock"), ackEvery: 1}
	srv.cond.L = &srv.mu
	var served atomic.Bool
	srv.onConn = func(c net.Conn) bool {
		if !served.Swap(true) {
			c.Write(wire.AppendError(nil, wire.ErrorFrame{Code: wire.CodeRefused, Message: "go away"}))
			return false
		}
		return true
	}
	srv.start()
	defer srv.stop()
	var errOut syncbuf.Buffer
	s, err := New(srv.addr(), WithErrorOutput(&errOut), WithBackoff(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Write([]byte(`{"a":1}`))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	// The old connection's reader reports the error frame on its own
	// schedule, possibly after Sync has returned on the new connection.
	if !errOut.WaitFor("go away", 5*time.Second) {
		t.Fatalf("error frame never reported; error output %q", errOut.String())
	}
	if got := datas(srv.records()); len(got) != 1 {
		t.Errorf("got %q", got)
	}
	if st := s.Stats(); st.Errors < 1 || st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestCloseUndelivered(t *testing.T) {
	var errOut syncbuf.Buffer
	s, err := New("unix://"+filepath.Join(t.TempDir(), "none"), WithErrorOutput(&errOut), WithCloseTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.Write([]byte("{}"))
	}
	err = s.Close()
	if err == nil || !strings.Contains(err.Error(), "3 records not delivered") {
		t.Fatalf("Close = %v", err)
	}
	if err2 := s.Close(); err2 != err {
		t.Errorf("second Close = %v", err2)
	}
	if _, err := s.Write([]byte("{}")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close = %v", err)
	}
	if st := s.Stats(); st.Lost != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestSyncWriterDown: Sync reports the failed connection attempt rather
// than waiting forever.
func TestSyncWriterDown(t *testing.T) {
	s, err := New("unix://"+filepath.Join(t.TempDir(), "none"), WithErrorOutput(&syncbuf.Buffer{}), WithCloseTimeout(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Write([]byte("{}"))
	if err := s.Sync(); err == nil || !strings.Contains(err.Error(), "1 records wait") {
		t.Fatalf("Sync = %v", err)
	}
}
