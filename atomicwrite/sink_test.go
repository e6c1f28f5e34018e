package atomicwrite

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		url  string
		want config
	}{
		{"logfanin+append:///var/log/app.log", config{}},
		{"logfanin+append:///var/log/app.log?max_size=100&max_backups=5&compress=true&lock=always",
			config{maxSize: 100 << 20, maxBackups: 5, compress: true, locking: LockAlways}},
		{"logfanin+append:///x.log?max_size=256KiB&max_age=7d&local_time=1&sync=never&perm=0640&mkdir=0750&reopen_check=250ms&lock=shared",
			config{maxSize: 256 << 10, maxAge: 7 * 24 * time.Hour, localTime: true, syncMode: SyncNever,
				perm: 0o640, dirPerm: 0o750, reopenCheck: 250 * time.Millisecond, locking: LockShared}},
		{"logfanin+append:///x.log?max_size=4096B&max_age=36h&sync=write", config{maxSize: 4096, maxAge: 36 * time.Hour, syncMode: SyncEveryWrite}},
	}
	for _, tt := range good {
		u, _ := url.Parse(tt.url)
		p, opts, err := parseURL(u)
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		cfg := config{}
		for _, o := range opts {
			o.apply(&cfg)
		}
		if fmt.Sprintf("%+v", cfg) != fmt.Sprintf("%+v", tt.want) || p != u.Path {
			t.Errorf("%s: got %+v, want %+v", tt.url, cfg, tt.want)
		}
	}

	bad := []struct{ url, names string }{
		{"logfanin+append:relative.log", "relative path"},
		{"logfanin+append://host/var/log/app.log", `host "host"`},
		{"logfanin+append://localhost/var/log/app.log", `host "localhost"`},
		{"logfanin+append://user@/var/log/app.log", "user info"},
		{"logfanin+append:///var/log/app.log#frag", "fragment"},
		{"logfanin+append://", "not absolute"},
		{"logfanin+append:///var/log/app.log?colour=blue", `unknown option "colour"`},
		{"logfanin+append:///var/log/app.log?max_size=big", "max_size"},
		{"logfanin+append:///var/log/app.log?max_size=-1", "max_size"},
		{"logfanin+append:///var/log/app.log?max_size=10KB", "max_size"},
		{"logfanin+append:///var/log/app.log?max_backups=-2", "max_backups"},
		{"logfanin+append:///var/log/app.log?max_age=soon", "max_age"},
		{"logfanin+append:///var/log/app.log?max_age=-1h", "max_age"},
		{"logfanin+append:///var/log/app.log?compress=maybe", "compress"},
		{"logfanin+append:///var/log/app.log?local_time=2", "local_time"},
		{"logfanin+append:///var/log/app.log?lock=never", "lock"},
		{"logfanin+append:///var/log/app.log?sync=fsync", "sync"},
		{"logfanin+append:///var/log/app.log?perm=0999", "perm"},
		{"logfanin+append:///var/log/app.log?perm=1777", "perm"},
		{"logfanin+append:///var/log/app.log?mkdir=rwx", "mkdir"},
		{"logfanin+append:///var/log/app.log?reopen_check=7d", "reopen_check"},
		{"logfanin+append:///var/log/app.log?lock=auto&lock=always", `"lock" given 2 times`},
		{"logfanin+append:///var/log/app.log?max_size=%zz", "query"},
		{"file:///var/log/app.log", "scheme"},
	}
	for _, tt := range bad {
		u, err := url.Parse(tt.url)
		if err != nil {
			u = &url.URL{Scheme: "append", Path: "/var/log/app.log", RawQuery: "max_size=%zz"}
		}
		_, _, err = parseURL(u)
		if err == nil || !strings.Contains(err.Error(), tt.names) {
			t.Errorf("%s: err = %v, want one naming %q", tt.url, err, tt.names)
		}
	}
}

func TestZapSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	cfg := zap.NewProductionConfig()
	cfg.OutputPaths = []string{"logfanin+append://" + path + "?max_size=1&lock=shared"}
	logger, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hello", zap.Int("n", 1))
	logger.Sync()
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"msg":"hello","n":1}`) {
		t.Fatalf("file = %q", data)
	}

	cfg.OutputPaths = []string{"logfanin+append://" + path + "?lock=sometimes"}
	if _, err := cfg.Build(); err == nil || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("bad URL: err = %v", err)
	}
	cfg.OutputPaths = []string{"logfanin+append:///nonexistent-dir-for-test/app.log"}
	if _, err := cfg.Build(); err == nil {
		t.Fatal("missing directory accepted")
	}
}
