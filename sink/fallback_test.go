package sink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/jsonline"
	"github.com/logfanin/logfanin/internal/syncbuf"
)

// lineRecord returns record i of the mix the fallback tests write, and
// the object a JSON reader must find on its line in the fallback file or
// in the writer's output (without the writer's own fields): JSON objects
// with and without a trailing newline, pretty-printed over several lines,
// text with and without a trailing newline, text over several lines, and
// text that is broken JSON.
func lineRecord(i int) (rec []byte, want map[string]any) {
	n := float64(i)
	switch i % 7 {
	case 0:
		return fmt.Appendf(nil, `{"n":%d,"kind":"bare"}`, i), map[string]any{"n": n, "kind": "bare"}
	case 1:
		return fmt.Appendf(nil, `{"n":%d,"kind":"zap"}`+"\n", i), map[string]any{"n": n, "kind": "zap"}
	case 2:
		return fmt.Appendf(nil, "{\n  \"n\": %d,\n  \"kind\": \"pretty\",\n  \"list\": [\n    1,\n    2\n  ]\n}\n", i),
			map[string]any{"n": n, "kind": "pretty", "list": []any{1.0, 2.0}}
	case 3:
		s := fmt.Sprintf("plain text n=%d", i)
		return []byte(s), map[string]any{"msg": s}
	case 4:
		s := fmt.Sprintf("plain text with a newline n=%d", i)
		return []byte(s + "\n"), map[string]any{"msg": s}
	case 5:
		s := fmt.Sprintf("first line n=%d\nsecond line\n\tthird \"quoted\"", i)
		return []byte(s), map[string]any{"msg": s}
	default:
		s := fmt.Sprintf(`{"n":%d,"kind":"broken"`, i)
		return []byte(s), map[string]any{"msg": s}
	}
}

// lineRecordID finds which record of lineRecord an object read back is.
func lineRecordID(t *testing.T, m map[string]any) int {
	t.Helper()
	if n, ok := m["n"].(float64); ok {
		return int(n)
	}
	if msg, ok := m["msg"].(string); ok {
		for _, mark := range []string{"n=", `{"n":`} {
			if _, after, ok := strings.Cut(msg, mark); ok {
				digits := after[:len(after)-len(strings.TrimLeft(after, "0123456789"))]
				if i, err := strconv.Atoi(digits); err == nil {
					return i
				}
			}
		}
	}
	t.Fatalf("not a record of the mix: %v", m)
	return -1
}

// readJSONLines reads path as JSON lines: every line must be one JSON
// object, and the file must end with a newline. The writer's own fields
// are removed from the objects returned.
func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s does not end with a newline: %.80q", filepath.Base(path), b[max(0, len(b)-80):])
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s line %d is not a JSON object (%v): %.200q", filepath.Base(path), ln, err, sc.Bytes())
		}
		delete(m, "logfanin_sid")
		delete(m, "logfanin_seq")
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRecordsOnce checks that the objects read back hold records 0…n-1
// of the mix, each exactly once, intact, and in order within each part.
func checkRecordsOnce(t *testing.T, n int, parts ...[]map[string]any) {
	t.Helper()
	seen := make([]int, n)
	for p, objs := range parts {
		last := -1
		for _, m := range objs {
			i := lineRecordID(t, m)
			if i < 0 || i >= n {
				t.Fatalf("part %d: unexpected record %v", p, m)
			}
			seen[i]++
			if _, want := lineRecord(i); !reflect.DeepEqual(m, want) {
				t.Errorf("part %d: record %d read back as %v, want %v", p, i, m, want)
			}
			if i <= last {
				t.Errorf("part %d: record %d after %d", p, i, last)
			}
			last = i
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("record %d found %d times", i, c)
		}
	}
}

// TestFallbackOneLinePerRecord: every record that goes to the fallback
// file becomes one line of JSON, whatever it looks like (no trailing
// newline, newlines inside, not JSON), as the writer would write it;
// over a stream socket whose writer never comes, and over a pipe whose
// reader is gone.
func TestFallbackOneLinePerRecord(t *testing.T) {
	const n = 70
	for _, transport := range []string{"unix", "fd"} {
		t.Run(transport, func(t *testing.T) {
			dir := t.TempDir()
			fb := filepath.Join(dir, "fallback.log")
			var addr string
			switch transport {
			case "unix":
				addr = "unix://" + filepath.Join(dir, "nobody.sock")
			case "fd":
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				r.Close()
				addr = "fd:" + strconv.Itoa(int(w.Fd()))
			}
			s, err := New(addr, WithFallback(fb), WithErrorOutput(&syncbuf.Buffer{}),
				WithBackoff(time.Millisecond, 2*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				rec, _ := lineRecord(i)
				if _, err := s.Write(rec); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Fallback != n || st.Lost != 0 {
				t.Errorf("stats %+v", st)
			}
			objs := readJSONLines(t, fb)
			if len(objs) != n {
				t.Errorf("%d lines in the fallback file for %d records", len(objs), n)
			}
			checkRecordsOnce(t, n, objs)
		})
	}
}

// TestFallbackThenWriter: records written while the writer is away go to
// the fallback file, those written once it is up go to its output; every
// record is in exactly one of the two, as the same JSON object.
func TestFallbackThenWriter(t *testing.T) {
	w := newRealWriter(t)
	w.stop()
	fb := filepath.Join(t.TempDir(), "fallback.log")
	connected := make(chan struct{}, 1)
	s, err := New(w.addr(), WithFallback(fb), WithErrorOutput(&syncbuf.Buffer{}),
		WithBackoff(time.Millisecond, 2*time.Millisecond), withConnectHook(func() { signal(connected) }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n1, n = 35, 70
	for i := range n1 {
		rec, _ := lineRecord(i)
		if _, err := s.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Fallback < n1 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: the records did not go to the fallback file", s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	w.start()
	<-connected
	for i := n1; i < n; i++ {
		rec, _ := lineRecord(i)
		if _, err := s.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w.stop()
	st := s.Stats()
	if st.Fallback+st.Sent != n || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
	inFile, inOutput := readJSONLines(t, fb), readJSONLines(t, w.out.Name())
	t.Logf("%d records in the fallback file, %d in the output", len(inFile), len(inOutput))
	if len(inFile) != int(st.Fallback) || len(inOutput) != int(st.Sent) {
		t.Errorf("%d lines in the fallback file, %d in the output; stats %+v", len(inFile), len(inOutput), st)
	}
	checkRecordsOnce(t, n, inFile, inOutput)
}

// TestFallbackDropNotice: the drop notice the sink writes to the fallback
// file is one JSON line too, and counts the drops.
func TestFallbackDropNotice(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fb := filepath.Join(t.TempDir(), "fallback.log")
	s, err := New("fd:"+strconv.Itoa(int(w.Fd())), WithPolicy(Drop), WithFallback(fb), WithErrorOutput(&syncbuf.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; s.Stats().Dropped < 3; i++ {
		if _, err := s.Write(makeRecord(0, i, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	r.Close() // the reader is gone: the notice goes to the fallback file
	rec, _ := lineRecord(0)
	if _, err := s.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	objs := readJSONLines(t, fb)
	if len(objs) != int(st.Fallback) {
		t.Errorf("%d lines in the fallback file, stats %+v", len(objs), st)
	}
	var reported float64
	for _, m := range objs {
		if m["msg"] == "logfanin: records dropped" {
			reported += m["dropped"].(float64)
		}
	}
	if reported != float64(st.Dropped) || st.Dropped == 0 {
		t.Errorf("the fallback file reports %v drops, stats %+v", reported, st)
	}
}

// TestFallbackPerm: the fallback file is created 0600, as the writer
// creates its output, unless an atomicwrite.WithPerm option says
// otherwise.
func TestFallbackPerm(t *testing.T) {
	umask := processUmask(t)
	for _, tc := range []struct {
		opts []atomicwrite.Option
		want fs.FileMode
	}{
		{nil, 0o600},
		{[]atomicwrite.Option{atomicwrite.WithPerm(0o640)}, 0o640},
	} {
		fb := filepath.Join(t.TempDir(), "fallback.log")
		s, err := New("unix://"+filepath.Join(t.TempDir(), "nobody.sock"), WithFallback(fb, tc.opts...),
			WithErrorOutput(&syncbuf.Buffer{}), WithCloseTimeout(0))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		fi, err := os.Stat(fb)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), tc.want&^umask; got != want {
			t.Errorf("options %v: fallback file mode %v, want %v", tc.opts, got, want)
		}
	}
}

// processUmask reads the umask from /proc, which does not change it.
func processUmask(t *testing.T) fs.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return fs.FileMode(m)
		}
	}
	t.Skip("no Umask in /proc/self/status")
	return 0
}

// TestDropNoticeIsTheWritersLine: the drop notice the sink makes is
// already the line the writer (and the fallback file) write for it.
func TestDropNoticeIsTheWritersLine(t *testing.T) {
	notice := appendDropNotice(nil, 7)
	var f jsonline.Formatter
	if line := f.AppendLine(nil, notice); !bytes.Equal(line, notice) || f.Kind() != jsonline.Object {
		t.Errorf("notice %q becomes %q", notice, line)
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
	// The error output is written by a goroutine of its own, after Sync.
	if !errOut.WaitFor("unreachable", 10*time.Second) {
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

// TestPipeFallback: when the pipe's reader is gone, records go to the
// fallback file.
func TestPipeFallback(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	fb := filepath.Join(t.TempDir(), "fb.log")
	var errOut syncbuf.Buffer
	s, err := New("fd:"+strconv.Itoa(int(w.Fd())), WithFallback(fb), WithErrorOutput(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Write(makeRecord(0, i, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fb)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 3 {
		t.Errorf("%d records in the fallback file", n)
	}
	if st := s.Stats(); st.Fallback != 3 || st.Errors != 1 {
		t.Errorf("stats %+v", st)
	}
}
