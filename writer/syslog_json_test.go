package writer

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// TestSyslogJSON: a syslog message whose text is a JSON object, with or
// without rsyslog's "@cee:" cookie, is written as that object's fields,
// with the header's fields the object lacks after them and the writer's
// own last; text that only looks like JSON is the message, as before.
func TestSyslogJSON(t *testing.T) {
	f := newFixture(t, WithPeerCred(true))
	path := f.sock("g.sock")
	f.listen("unixgram://" + path)
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	sent := []string{
		"<14>{\"msg\":\"bare\",\"a\":1}\x00", // Python's SysLogHandler with a JSON formatter
		`<11>@cee: {"msg":"cee","level":"debug","peer_pid":1}`,
		`<13>Nov 29 10:00:00 host7 app[42]: {"msg":"tagged","n":[1,2]}`,
		`<165>1 2026-11-29T10:00:00Z h app2 9 ID1 - {"msg":"5424","time":"mine","host":"own"}`,
		`<14>{"msg": broken`,
		`<14>@cee:not json`,
		"<14>{\"msg\":\"multi\",\n \"peer_uid\":1,\n \"b\":true}\n", // compacted, the forged field claimed as for any record
	}
	for _, s := range sent {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	waitFor(t, "datagrams", func() bool { return f.s.Stats().Datagrams == uint64(len(sent)) })
	lines := f.lines()
	if len(lines) != len(sent) {
		t.Fatalf("%d lines for %d datagrams: %v", len(lines), len(sent), lines)
	}
	byMsg := map[string]map[string]any{}
	for _, m := range lines {
		msg, _ := m["msg"].(string)
		byMsg[msg] = m
		if m["peer_pid"] != float64(os.Getpid()) {
			t.Errorf("record %v: peer_pid is not the kernel's %d", m, os.Getpid())
		}
	}
	check := func(msg string, want map[string]any) {
		t.Helper()
		m, ok := byMsg[msg]
		if !ok {
			t.Errorf("no record with msg %q in %v", msg, lines)
			return
		}
		for k, v := range want {
			if fmt.Sprint(m[k]) != fmt.Sprint(v) {
				t.Errorf("record %q: %s = %v, want %v (%v)", msg, k, m[k], v, m)
			}
		}
	}
	check("bare", map[string]any{"a": 1, "level": "info", "facility": "user"})
	check("cee", map[string]any{"level": "debug", "facility": "user"})
	check("tagged", map[string]any{"n": []any{1, 2}, "host": "host7", "app": "app", "procid": "42", "level": "notice"})
	check("5424", map[string]any{"time": "mine", "host": "own", "app": "app2", "msgid": "ID1", "facility": "local4"})
	check(`{"msg": broken`, map[string]any{"level": "info"})
	check(`@cee:not json`, map[string]any{"level": "info"})
	check("multi", map[string]any{"b": true, "level": "info", "peer_uid": os.Getuid()})
	// Only the two texts that are not objects are wrapped; the multi-line
	// object is compacted, as a record on a stream would be.
	if st := f.s.Stats(); st.Wrapped != 2 || st.Compacted != 1 {
		t.Errorf("wrapped %d, compacted %d; want 2 and 1", st.Wrapped, st.Compacted)
	}

	// The object's own fields come first, the header's after them, the
	// writer's last, and the line is valid JSON with no duplicate but the
	// forged one the writer's overrides.
	data, err := os.ReadFile(f.out)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("invalid line %s", line)
		}
		if strings.Contains(line, `"msg":"cee"`) {
			want := `{"msg":"cee","level":"debug","peer_pid":1,"time":`
			if !strings.HasPrefix(line, want) || !strings.HasSuffix(line, fmt.Sprintf(`"peer_pid":%d,"peer_uid":%d,"peer_gid":%d}`, os.Getpid(), os.Getuid(), os.Getgid())) {
				t.Errorf("cee line %s", line)
			}
			if strings.Count(line, `"level"`) != 1 {
				t.Errorf("cee line has the header's level too: %s", line)
			}
		}
		if strings.Contains(line, `"msg":"5424"`) && (strings.Count(line, `"time"`) != 1 || strings.Count(line, `"host"`) != 1) {
			t.Errorf("5424 line has the header's time or host too: %s", line)
		}
	}
}
