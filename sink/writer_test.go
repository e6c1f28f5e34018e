package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/writer"
)

// realWriter runs the real writer package, one Server after another on
// the same socket path, every one appending to the same output file.
type realWriter struct {
	t       *testing.T
	sock    string
	out     *os.File
	mu      sync.Mutex
	srv     *writer.Server
	written atomic.Uint64 // records written by the Servers already stopped
}

func newRealWriter(t *testing.T) *realWriter {
	t.Helper()
	dir := t.TempDir()
	out, err := os.OpenFile(filepath.Join(dir, "out.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w := &realWriter{t: t, sock: filepath.Join(dir, "w.sock"), out: out}
	w.start()
	t.Cleanup(func() {
		w.stop()
		out.Close()
	})
	return w
}

func (w *realWriter) addr() string { return "unix://" + w.sock }

func (w *realWriter) start() {
	w.t.Helper()
	srv := writer.New(writer.NewStreamOutput(w.out), writer.WithDiagnostics(io.Discard))
	if err := srv.Listen(w.addr()); err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	w.srv = srv
	w.mu.Unlock()
}

// stop shuts the running Server down at once, cutting off its clients:
// records it received whole are written, acknowledged or not.
func (w *realWriter) stop() {
	w.mu.Lock()
	srv := w.srv
	w.srv = nil
	w.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv.Shutdown(ctx)
	w.written.Add(srv.Stats().Records)
}

// records is the number of records written so far by all Servers.
func (w *realWriter) records() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.written.Load()
	if w.srv != nil {
		n += w.srv.Stats().Records
	}
	return n
}

func (w *realWriter) waitRecords(n uint64) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for w.records() < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %d records, have %d", n, w.records())
		}
		time.Sleep(time.Millisecond)
	}
}

// dedupOutput reads the output file, keeps the first copy of every
// (logfanin_sid, logfanin_seq) and checks that later copies are equal.
// It returns the kept lines, in output order, and the total of the
// "dropped" fields of the drop notices among them.
func dedupOutput(t *testing.T, path string) (kept []byte, lines, dups int, reported uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type key struct {
		sid string
		seq uint64
	}
	seen := map[key]string{}
	sids := map[string]bool{}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			break
		}
		lines++
		var m struct {
			SID     string  `json:"logfanin_sid"`
			Seq     *uint64 `json:"logfanin_seq"`
			Msg     string  `json:"msg"`
			Dropped uint64  `json:"dropped"`
		}
		if err := json.Unmarshal(line, &m); err != nil || m.Seq == nil {
			t.Fatalf("line %d is not a stamped JSON record (%v): %.200q", lines, err, line)
		}
		sids[m.SID] = true
		k := key{m.SID, *m.Seq}
		if prev, ok := seen[k]; ok {
			if prev != string(line) {
				t.Fatalf("seq %d written twice with different contents", k.seq)
			}
			dups++
			continue
		}
		seen[k] = string(line)
		if m.Msg == "logfanin: records dropped" {
			reported += m.Dropped
		}
		kept = append(kept, line...)
	}
	if len(sids) != 1 {
		t.Fatalf("%d session ids in the output, want 1", len(sids))
	}
	return kept, lines, dups, reported
}

// With Block and acknowledgements, the real writer stopped and started
// again four times while goroutines write: after dropping the copies that
// carry an already seen (logfanin_sid, logfanin_seq), every record is in the
// output exactly once, whole, in each goroutine's order.
func TestRealWriterRestartBlock(t *testing.T) {
	w := newRealWriter(t)
	connected := make(chan struct{}, 64)
	s, err := New(w.addr(), WithBufferSize(64<<10), WithBackoff(time.Millisecond, 4*time.Millisecond),
		WithErrorOutput(&syncbuf.Buffer{}), withConnectHook(func() { signal(connected) }))
	if err != nil {
		t.Fatal(err)
	}
	const g, n, restarts = 4, 300, 4
	var wg sync.WaitGroup
	for id := range g {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(id), 1))
			var rec []byte
			for seq, size := range logcheck.Sizes(uint64(id), n, 8<<10) {
				rec = logcheck.Make(rec[:0], id, seq, size, rng)
				if _, err := s.Write(rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for k := 1; k <= restarts; k++ {
		// Each writer is stopped only once the sink has connected to
		// it: otherwise a writer might come and go unseen.
		<-connected
		w.waitRecords(uint64(k * g * n / (restarts + 2)))
		w.stop()
		w.start()
	}
	wg.Wait()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w.stop()
	kept, lines, dups, _ := dedupOutput(t, w.out.Name())
	expect := map[int]int{}
	for id := range g {
		expect[id] = n
	}
	c := logcheck.NewChecker(expect)
	if err := c.Scan(bytes.NewReader(kept)); err != nil {
		t.Fatal(err)
	}
	if rep := c.Report(); !rep.OK() {
		t.Fatalf("after dedup: %v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	st := s.Stats()
	if st.Sent != g*n || st.Lost != 0 || st.Dropped != 0 || st.Reconnects < restarts {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d lines, %d replayed copies dropped, %d reconnects", lines, dups, st.Reconnects)
}

// With Drop and a small buffer, the real writer stopped long enough for
// the buffer to overflow, three times, while goroutines write: the records
// missing from the output (after dedup) are exactly Stats().Dropped, and
// the "dropped" fields of the drop notices in the output add up to the
// same number. Nothing is torn, duplicated or reordered.
func TestRealWriterRestartDrop(t *testing.T) {
	w := newRealWriter(t)
	s, err := New(w.addr(), WithPolicy(Drop), WithBufferSize(8<<10),
		WithBackoff(time.Millisecond, 4*time.Millisecond), WithErrorOutput(&syncbuf.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	const g, restarts = 3, 3
	stop := make(chan struct{})
	counts := make([]int, g)
	var wg sync.WaitGroup
	for id := range g {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(id), 1))
			sizes := logcheck.Sizes(uint64(id), 512, 2048)
			var rec []byte
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					counts[id] = seq
					return
				default:
				}
				rec = logcheck.Make(rec[:0], id, seq, sizes[seq%len(sizes)], rng)
				if _, err := s.Write(rec); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for range restarts {
		w.waitRecords(w.records() + 100)
		w.stop()
		before := s.Stats().Dropped
		for s.Stats().Dropped < before+10 {
			time.Sleep(time.Millisecond)
		}
		w.start()
	}
	w.waitRecords(w.records() + 100)
	close(stop)
	wg.Wait()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w.stop()
	kept, lines, dups, reported := dedupOutput(t, w.out.Name())
	expect := map[int]int{}
	total := 0
	for id, c := range counts {
		expect[id] = c
		total += c
	}
	c := logcheck.NewChecker(expect)
	if err := c.Scan(bytes.NewReader(kept)); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	st := s.Stats()
	if rep.Torn+rep.Interleaved+rep.Duplicated+rep.Reordered+rep.Unexpected != 0 {
		t.Fatalf("after dedup: %v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	if rep.Missing == 0 || uint64(rep.Missing) != st.Dropped || reported != st.Dropped || st.Lost != 0 {
		t.Fatalf("%d records missing, %d reported by notices, stats %+v (%v)", rep.Missing, reported, st, rep)
	}
	t.Logf("%d of %d records dropped and reported; %d lines, %d replayed copies", rep.Missing, total, lines, dups)
}

// log/slog's JSON handler over a Sink into the real writer: every slog
// record is one line of the output, including records far above
// PIPE_BUF and messages with newlines and quotes, and every record is
// there once, whole and in each goroutine's order.
func TestSlogThroughWriter(t *testing.T) {
	w := newRealWriter(t)
	s, err := New(w.addr(), WithErrorOutput(&syncbuf.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	const g, n = 4, 120
	var wg sync.WaitGroup
	for id := range g {
		wg.Go(func() {
			logger := slog.New(slog.NewJSONHandler(s, nil)).With("worker", id)
			rng := rand.New(rand.NewPCG(uint64(id), 2))
			for seq, size := range logcheck.Sizes(uint64(id), n, 64<<10) {
				f := logcheck.NewFields(id, seq, size, rng)
				logger.Info("line one\nline \"two\"", "p", f.Producer, "s", f.Seq, "n", f.N, "c", f.C, "b", f.B)
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w.stop()
	data, err := os.ReadFile(w.out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(data, []byte("\n")); lines != g*n {
		t.Fatalf("%d lines for %d slog records", lines, g*n)
	}
	expect := map[int]int{}
	for id := range g {
		expect[id] = n
	}
	c := logcheck.NewChecker(expect)
	if err := c.Scan(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if rep := c.Report(); !rep.OK() {
		t.Fatalf("%v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	var first map[string]any
	if err := json.Unmarshal(data[:bytes.IndexByte(data, '\n')], &first); err != nil {
		t.Fatal(err)
	}
	if first["msg"] != "line one\nline \"two\"" || first["level"] != "INFO" {
		t.Errorf("first record %v", first)
	}
}
