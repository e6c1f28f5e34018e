package writer

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/jsonline"
)

func TestParseSyslog(t *testing.T) {
	now := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		ok   bool
		want map[string]any
	}{
		{"<14>hello", true, map[string]any{"level": "info", "facility": "user", "msg": "hello", "time": "2024-03-05T12:00:00Z"}},
		{"<0>x", true, map[string]any{"level": "emerg", "facility": "kern", "msg": "x"}},
		{"<191>x", true, map[string]any{"level": "debug", "facility": "local7", "msg": "x"}},
		{"<192>x", false, nil},
		{"<014>x", false, nil},
		{"<>x", false, nil},
		{"<1", false, nil},
		{"no header", false, nil},
		{"<13>Mar  4 10:00:01 root: hi there", true, map[string]any{"app": "root", "msg": "hi there", "time": "2024-03-04T10:00:01Z", "level": "notice"}},
		{"<13>Mar  4 10:00:01 app[42]: hi", true, map[string]any{"app": "app", "procid": "42", "msg": "hi"}},
		{"<13>Mar 14 10:00:01 myhost app[42]: hi", true, map[string]any{"host": "myhost", "app": "app", "procid": "42", "msg": "hi"}},
		{"<13>Dec 31 23:59:59 app: old", true, map[string]any{"time": "2023-12-31T23:59:59Z"}},
		{"<13>Mar  4 10:00:01 just words here", true, map[string]any{"msg": "just words here"}},
		{"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"] \xEF\xBB\xBFAn application event",
			true, map[string]any{"time": "2003-10-11T22:14:15.003Z", "host": "mymachine.example.com", "app": "evntslog", "msgid": "ID47",
				"sd": "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"]", "msg": "An application event", "level": "notice", "facility": "local4"}},
		{"<34>1 - - - - - -", true, map[string]any{"msg": "", "time": "2024-03-05T12:00:00Z"}},
		{"<34>1 - - - - - - msg", true, map[string]any{"msg": "msg"}},
		{"<34>1 broken", true, map[string]any{"msg": "1 broken"}},
	}
	for _, tc := range cases {
		m, ok := parseSyslog([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("%q: ok %v", tc.in, ok)
			continue
		}
		if !ok {
			continue
		}
		var f jsonline.Formatter
		line := f.Emit(make([]byte, 0, f.Prepare(m.msg, appendSyslogFields(nil, &m, now), nil, true)))
		var got map[string]any
		if err := json.Unmarshal(line, &got); err != nil {
			t.Errorf("%q: %v: %s", tc.in, err, line)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v (%s)", tc.in, k, got[k], v, line)
			}
		}
	}
}

func FuzzSyslog(f *testing.F) {
	for _, s := range []string{"<14>hello\x00", "<13>Mar  4 10:00:01 host app[1]: m", "<165>1 - h a p m [x a=\"]\"] msg", "<1>\xff\n", "<14>@cee: {\"level\":1,\n\"peer_pid\":2}"} {
		f.Add([]byte(s))
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := parseSyslog(b)
		if !ok {
			return
		}
		var fm jsonline.Formatter
		n := fm.Prepare(m.msg, appendSyslogFields(nil, &m, now), []byte(`,"peer_pid":1`), true)
		line := fm.Emit(nil)
		if len(line) != n {
			t.Fatalf("prepared %d bytes, emitted %d", n, len(line))
		}
		if !json.Valid(line) || line[len(line)-1] != '\n' {
			t.Fatalf("bad line %q", line)
		}
		// A JSON message: the object with the header's fields it lacks.
		if obj, scan, ok := syslogJSON(m.msg); ok {
			tail := append(appendSyslogTail(nil, &m, now, obj), `,"peer_pid":1`...)
			n := fm.PrepareScanned(obj, scan, tail)
			line := fm.Emit(nil)
			if len(line) != n || fm.Kind() == jsonline.Wrapped {
				t.Fatalf("JSON message: prepared %d bytes, emitted %d, kind %v", n, len(line), fm.Kind())
			}
			if !json.Valid(line) || line[len(line)-1] != '\n' || bytes.Count(line, []byte{'\n'}) != 1 {
				t.Fatalf("bad JSON message line %q", line)
			}
		}
	})
}
