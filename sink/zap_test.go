package sink

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

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
