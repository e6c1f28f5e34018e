package sink

import (
	"bufio"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, addr string
		check     func(c config) bool
	}{
		{"logfanin:///run/app.sock", "unix:///run/app.sock", nil},
		{"logfanin:", "", nil},
		{"logfanin://", "", nil},
		{"logfanin:?policy=drop", "", func(c config) bool { return c.policy == Drop }},
		{"logfanin:///a?transport=unixgram", "unixgram:///a", nil},
		{"logfanin:///a?transport=unix&ack=false", "unix:///a", func(c config) bool { return c.ack == -1 }},
		{"logfanin:///a?buffer=64KiB&max_record=1000", "unix:///a", func(c config) bool { return c.bufferSize == 64<<10 && c.maxRecord == 1000 }},
		{"logfanin:///a?buffer=2MiB", "unix:///a", func(c config) bool { return c.bufferSize == 2<<20 }},
		{"logfanin:///a?batch=5ms", "unix:///a", func(c config) bool { return c.batch == 5*time.Millisecond }},
		{"logfanin:///a?fallback=/var/log/x.log", "unix:///a", func(c config) bool { return c.fallback == "/var/log/x.log" }},
		{"logfanin:///a?min_backoff=1ms&max_backoff=2s", "unix:///a", func(c config) bool {
			return c.minBackoff == time.Millisecond && c.maxBackoff == 2*time.Second
		}},
		{"logfanin:///a?dial_timeout=1s&close_timeout=0s", "unix:///a", func(c config) bool {
			return c.dialTimeout == time.Second && c.closeTimeout == 0
		}},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		addr, opts, err := ParseURL(u)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if addr != tc.addr {
			t.Errorf("%s: address %q, want %q", tc.url, addr, tc.addr)
		}
		if c := newConfig(opts); tc.check != nil && !tc.check(c) {
			t.Errorf("%s: options not applied: %+v", tc.url, c)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"other:///a", `scheme "other"`},
		{"logfanin:relative", "relative path"},
		{"logfanin://host/a", `host "host"`},
		{"logfanin://user@/a", "user info"},
		{"logfanin:///a#frag", "fragment"},
		{"logfanin:///a?nope=1", `unknown option "nope"`},
		{"logfanin:///a?policy=drop&policy=block", "given 2 times"},
		{"logfanin:///a?policy=fast", "option policy"},
		{"logfanin:///a?transport=tcp", "option transport"},
		{"logfanin:?transport=unixgram", "transport needs a socket path"},
		{"logfanin:///a?buffer=0", "option buffer"},
		{"logfanin:///a?buffer=-1", "option buffer"},
		{"logfanin:///a?buffer=1TB", "option buffer"},
		{"logfanin:///a?max_record=3GiB", "option max_record"},
		{"logfanin:///a?ack=maybe", "option ack"},
		{"logfanin:///a?batch=-1ms", "option batch"},
		{"logfanin:///a?batch=soon", "option batch"},
		{"logfanin:///a?fallback=rel.log", "option fallback"},
		{"logfanin:///a?dial_timeout=0s", "option dial_timeout"},
		{"logfanin:///a?min_backoff=2s&max_backoff=1s", "max_backoff"},
		{"logfanin:///a?x=%zz", "query"},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if _, _, err := ParseURL(u); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q in it", tc.url, err, tc.want)
		}
	}
}

// TestZapScheme opens the registered scheme through zap.
func TestZapScheme(t *testing.T) {
	srv := newStreamServer(t, 1)
	ws, closeSink, err := zap.Open("logfanin://" + srv.path + "?batch=1ms")
	if err != nil {
		t.Fatal(err)
	}
	defer closeSink()
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), ws, zap.InfoLevel))
	logger.Info("hello", zap.Int("n", 1))
	if err := logger.Sync(); err != nil {
		t.Fatal(err)
	}
	got := datas(srv.records())
	if len(got) != 1 || !strings.Contains(got[0], `"msg":"hello","n":1`) {
		t.Fatalf("got %q", got)
	}
	if _, _, err := zap.Open("logfanin://host/x"); err == nil {
		t.Error("zap.Open accepted a host")
	}
}

func TestNewCoreAndSlog(t *testing.T) {
	srv := newStreamServer(t, 3)
	core, s, err := NewCore(srv.addr(), zapcore.InfoLevel)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	zl := zap.New(core)
	sl := slog.New(slog.NewJSONHandler(s, nil))
	for i := range 50 {
		zl.Info("zap", zap.Int("i", i))
		sl.Info("slog", "i", i)
	}
	zl.Debug("not enabled")
	if err := zl.Sync(); err != nil {
		t.Fatal(err)
	}
	var zn, sn int
	for _, d := range datas(srv.records()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("record %q: %v", d, err)
		}
		switch m["msg"] {
		case "zap":
			if int(m["i"].(float64)) != zn {
				t.Fatalf("zap record %d out of order", zn)
			}
			zn++
		case "slog":
			if int(m["i"].(float64)) != sn || m["level"] != "INFO" {
				t.Fatalf("slog record %q", d)
			}
			sn++
		default:
			t.Fatalf("unexpected %q", d)
		}
	}
	if zn != 50 || sn != 50 {
		t.Errorf("%d zap and %d slog records", zn, sn)
	}
}

// TestFallback: while the writer can't be reached records go to the
// fallback file; when it is back they go to it again.
func TestFallback(t *testing.T) {
	dir := t.TempDir()
	fbPath := filepath.Join(dir, "fallback.log")
	sock := filepath.Join(dir, "w.sock")
	connected := make(chan struct{}, 1)
	var errOut syncbuf.Buffer
	s, err := New("unix://"+sock, WithFallback(fbPath), WithErrorOutput(&errOut),
		WithBackoff(time.Millisecond, 2*time.Millisecond), withConnectHook(func() { connected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 20 {
		if _, err := s.Write(makeRecord(0, i, recordSize(0, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Fallback != 20 || st.Buffered != 0 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(errOut.String(), "unreachable") {
		t.Errorf("error output %q", errOut.String())
	}

	srv := &streamServer{t: t, path: sock, ackEvery: 1}
	srv.cond.L = &srv.mu
	srv.start()
	defer srv.stop()
	<-connected
	for i := 20; i < 30; i++ {
		if _, err := s.Write(makeRecord(0, i, recordSize(0, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	f, err := os.Open(fbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text()+"\n")
	}
	checkOrdered(t, append(lines, datas(srv.records())...), 1, 30)
	if len(lines) != 20 {
		t.Errorf("%d records in the fallback file", len(lines))
	}
}

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
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(errOut.String(), "go away"); {
		if time.Now().After(deadline) {
			t.Fatalf("error frame never reported; error output %q", errOut.String())
		}
		time.Sleep(time.Millisecond)
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

func TestDropNotice(t *testing.T) {
	b := appendDropNotice(nil, 42)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["level"] != "warn" || m["dropped"] != 42.0 || m["msg"] != "logfanin: records dropped" || b[len(b)-1] != '\n' {
		t.Errorf("notice %s", b)
	}
}

// TestRing checks the ring against a simple model under random use.
func TestRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newRing(1000)
	var held [][]byte // model: oldest first
	sent := 0
	for step := range 200000 {
		switch op := rng.IntN(10); {
		case op < 5:
			rec := make([]byte, rng.IntN(300))
			for i := range rec {
				rec[i] = byte(step + i)
			}
			if !r.fits(4 + len(rec)) {
				if len(held) == 0 {
					t.Fatalf("record of %d bytes does not fit an empty ring", len(rec))
				}
				continue
			}
			r.push(rec)
			held = append(held, rec)
		case op < 7:
			k := rng.IntN(len(held) - sent + 1)
			a, b := r.unsentRuns()
			want := []byte{}
			for _, h := range held[sent:] {
				want = append(want, 0, 0, 0, 0)
				want = append(want, h...)
			}
			got := append(append([]byte{}, a...), b...)
			if len(got) != len(want) || r.unsentBytes != len(want) {
				t.Fatalf("step %d: unsent runs of %d bytes, want %d", step, len(got), len(want))
			}
			r.markSent(k)
			sent += k
		case op < 9:
			k := rng.IntN(sent + 1)
			for i := 0; i < k; i++ {
				if string(r.record(r.head)) != string(held[0]) {
					t.Fatalf("step %d: oldest record differs", step)
				}
				r.release(1)
				held = held[1:]
				sent--
			}
		default:
			r.rewind()
			sent = 0
		}
		if r.n != len(held) || r.unsent != len(held)-sent {
			t.Fatalf("step %d: ring has %d/%d, model %d/%d", step, r.n, r.unsent, len(held), len(held)-sent)
		}
	}
}
