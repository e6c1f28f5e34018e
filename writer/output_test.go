package writer

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
)

// faultyOutput fails its first writes with ENOSPC and then writes at most
// a few bytes at a time for a while: the Server must resume with the
// remainder and never tear or repeat a record.
type faultyOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	fails   int // ENOSPC left to return
	shorts  int // short writes left
	writes  int
	reopens int
	closed  bool
	always  bool // every write fails
}

func (o *faultyOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes++
	if o.always || (o.fails > 0 && o.writes%2 == 1) {
		o.fails--
		return 0, fmt.Errorf("write out.log: %w", syscall.ENOSPC)
	}
	if o.shorts > 0 && len(p) > 7 {
		o.shorts--
		o.buf.Write(p[:7])
		if o.shorts%2 == 0 {
			return 7, fmt.Errorf("write out.log: %w", syscall.ENOSPC) // short with error
		}
		return 7, nil // short without error
	}
	return o.buf.Write(p)
}

func (o *faultyOutput) Reopen() error { o.mu.Lock(); o.reopens++; o.mu.Unlock(); return nil }
func (o *faultyOutput) Close() error  { o.mu.Lock(); o.closed = true; o.mu.Unlock(); return nil }

func TestOutputErrorsRetried(t *testing.T) {
	out := &faultyOutput{fails: 5, shorts: 6}
	diag := &syncbuf.Buffer{}
	s := New(out, WithDiagnostics(diag))
	s.Start()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	if err := s.Listen("unix://" + path); err != nil {
		t.Fatal(err)
	}
	sds := senders(0, 3, 100, 20000)
	var wg sync.WaitGroup
	for _, sd := range sds {
		wg.Go(func() {
			if err := sendStream(path, sd, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "out.log")
	os.WriteFile(outFile, out.buf.Bytes(), 0o600)
	checkFiles(t, sds, outFile)
	st := s.Stats()
	if st.WriteErrors < 5 || st.Lost != 0 || !out.closed {
		t.Errorf("stats %v, closed %v", st, out.closed)
	}
	if !strings.Contains(diag.String(), "no space left on device") {
		t.Errorf("diagnostics %q", diag.String())
	}
}

// TestOutputGivesUpAtDeadline: an output that never recovers loses its
// records only when Shutdown's context expires, and they are counted.
func TestOutputGivesUpAtDeadline(t *testing.T) {
	out := &faultyOutput{always: true}
	s := New(out, WithDiagnostics(&syncbuf.Buffer{}))
	s.Start()
	path := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen("unix://" + path); err != nil {
		t.Fatal(err)
	}
	if err := sendRaw(path, `{"a":1}`, `{"a":2}`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed write", func() bool { return s.Stats().WriteErrors > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "lost") {
		t.Errorf("Shutdown: %v", err)
	}
	if st := s.Stats(); st.Lost != 2 || st.Records != 0 {
		t.Errorf("stats %v", st)
	}
}

// TestReopenLogrotate: logrotate moves the file away while records flow,
// then the Server reopens; the two files hold every record once.
func TestReopenLogrotate(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	sds := senders(0, 4, 400, 5000)
	var wg sync.WaitGroup
	for _, sd := range sds {
		wg.Go(func() {
			if err := sendStream(path, sd, false); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "records to flow", func() bool { return f.s.Stats().Records > 100 })
	rotated := f.out + ".1"
	if err := os.Rename(f.out, rotated); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Reopen(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	f.shutdown()
	checkFiles(t, sds, rotated, f.out)
	if st := f.s.Stats(); st.Reopens != 1 {
		t.Errorf("stats %v", st)
	}
	if fi, err := os.Stat(f.out); err != nil || fi.Size() == 0 {
		t.Errorf("new file: %v %v", fi, err)
	}
}

// TestReopenBeforeStart: before the output goroutine runs, Reopen reopens
// the output itself; with Start racing it, the reopen happens once, in
// the caller or in the output goroutine, without an error (and, under
// the race detector, without the two touching the output at once).
func TestReopenBeforeStart(t *testing.T) {
	for i := range 50 {
		dir := t.TempDir()
		out := filepath.Join(dir, "out.log")
		o, err := NewFileOutput(FileConfig{Path: out})
		if err != nil {
			t.Fatal(err)
		}
		s := New(o)
		started := make(chan error, 1)
		go func() { started <- s.Start() }()
		if err := s.Reopen(); err != nil {
			t.Fatalf("round %d: Reopen: %v", i, err)
		}
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Reopens != 1 {
			t.Fatalf("round %d: %d reopens, want 1", i, st.Reopens)
		}
	}
}

func TestFileOutputBadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	for _, p := range []string{"", dir, filepath.Join(file, "sub", "x.log")} {
		if o, err := NewFileOutput(FileConfig{Path: p}); err == nil {
			o.Close()
			t.Errorf("NewFileOutput(%q) succeeded", p)
		}
	}
}

// TestFileOutputTruncatedByAnother: someone truncates the file the output
// writes (logrotate's copytruncate, or ": > app.log"). The next record
// goes to the file's new end, leaving no hole of zero bytes where the
// old records were, whether the file was there at the start, created by
// the output, created by a rotation, or created again after a reopen.
func TestFileOutputTruncatedByAnother(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		then  func(t *testing.T, o *FileOutput)
	}{
		{"existing file", func(t *testing.T, path string) { os.WriteFile(path, []byte("old\n"), 0o600) }, nil},
		{"created", nil, nil},
		{"rotated", nil, func(t *testing.T, o *FileOutput) {
			if err := o.rotate(); err != nil {
				t.Fatal(err)
			}
		}},
		{"created again after a reopen", nil, func(t *testing.T, o *FileOutput) {
			os.Remove(o.l.Filename)
			if err := o.Reopen(); err != nil {
				t.Fatal(err)
			}
		}},
		{"created again after it was removed without a reopen", nil, func(t *testing.T, o *FileOutput) {
			os.Remove(o.l.Filename)
			o.checkEvery = 0 // the next write notices
		}},
		{"rotated with a watcher", nil, func(t *testing.T, o *FileOutput) {
			o.watcher = &rotations{}
			if err := o.rotate(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			if tc.setup != nil {
				tc.setup(t, path)
			}
			o, err := NewFileOutput(FileConfig{Path: path, MaxSizeMB: 1, MaxBackups: 10})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			if tc.then != nil {
				tc.then(t, o)
			}
			if _, err := o.Write([]byte("before the truncation\n")); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := o.Write([]byte("after\n")); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); string(got) != "after\n" {
				t.Fatalf("file holds %q, want %q", got, "after\n")
			}
		})
	}
}

// rotations is a FileWatcher that keeps the rotations it is told of.
type rotations struct{ events []RotateEvent }

func (r *rotations) Wrote(int)               {}
func (r *rotations) Rotating(ev RotateEvent) { r.events = append(r.events, ev) }

// TestFileOutputRotatesByWhatTheTruncatedFileHolds: after someone
// truncated the file, rotation counts from what the file holds, not from
// what the output wrote before, also within the second between two looks
// at the file; and the size a watcher is told at a rotation is the
// backup's.
func TestFileOutputRotatesByWhatTheTruncatedFileHolds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	w := &rotations{}
	o, err := NewFileOutput(FileConfig{Path: path, MaxSizeMB: 1, MaxBackups: 10, Watcher: w})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	o.checkEvery = time.Hour // no periodic look: the rotation itself must look
	line := []byte(strings.Repeat("x", 1023) + "\n")
	write := func(n int) {
		for range n {
			if _, err := o.Write(line); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(700)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	write(700)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || o.rotations.Load() != 0 {
		t.Fatalf("rotated %d times for 700 KiB in the file: %v", o.rotations.Load(), entries)
	}
	write(400) // past 1 MiB: one rotation, of a file of 700 KiB and more
	if len(w.events) != 1 {
		t.Fatalf("rotations %+v, want one", w.events)
	}
	fi, err := os.Stat(w.events[0].Backup)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != w.events[0].Size {
		t.Fatalf("watcher told %d bytes for %s, which holds %d", w.events[0].Size, w.events[0].Backup, fi.Size())
	}
}

func TestFileOutputRotates(t *testing.T) {
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, out: filepath.Join(dir, "out.log"), diag: &syncbuf.Buffer{}}
	o, err := NewFileOutput(FileConfig{Path: f.out, MaxSizeMB: 1, MaxBackups: 100})
	if err != nil {
		t.Fatal(err)
	}
	f.s = New(o, WithDiagnostics(f.diag))
	f.s.Start()
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	sds := senders(0, 2, 300, 20000)
	for _, sd := range sds {
		if err := sendStream(path, sd, false); err != nil {
			t.Fatal(err)
		}
	}
	f.shutdown()
	rep, err := logcheckLog(sds, f.out)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("%v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) < 3 {
		t.Errorf("no rotation: %v", entries)
	}
}

// TestShutdownUnderLoad: producers are still sending when Shutdown starts.
// Producers that finished before lose nothing; of the others, every record
// written is whole and in order, and nothing the writer received is lost.
func TestShutdownUnderLoad(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	done := senders(0, 3, 100, 5000)
	for _, sd := range done {
		if err := sendStream(path, sd, false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "finished producers", func() bool { return f.s.Stats().Records == 300 })
	// Endless producers: they send until the writer stops them.
	var wg sync.WaitGroup
	for p := 10; p < 14; p++ {
		wg.Go(func() {
			sendEndless(path, p) // ends with an error once the writer stops reading
		})
	}
	waitFor(t, "load", func() bool { return f.s.Stats().Records > 2000 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	f.done = true
	f.s.Shutdown(ctx) // the deadline error is expected: the producers never close
	wg.Wait()
	// The finished producers are complete; the endless ones have a prefix
	// each, whole and in order: check them with their observed counts.
	got := map[int]int{}
	for _, m := range jsonLines(t, f.out) {
		got[int(m["p"].(float64))]++
	}
	all := append([]sender(nil), done...)
	for p := 10; p < 14; p++ {
		all = append(all, sender{Producer: p, N: got[p]})
	}
	checkFiles(t, all, f.out)
	st := f.s.Stats()
	if st.Lost != 0 || st.Records != uint64(sumN(all)) {
		t.Errorf("stats %v, records in file %d", st, sumN(all))
	}
	t.Logf("%v", st)
}

func sumN(s []sender) int {
	n := 0
	for _, sd := range s {
		n += sd.N
	}
	return n
}

// sendEndless sends records of producer p until the connection fails.
func sendEndless(path string, p int) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return
	}
	defer c.Close()
	rng := newRand(uint64(p))
	var rec, frame []byte
	for seq := 0; ; seq++ {
		rec = logcheck.Make(rec[:0], p, seq, logcheck.MinSize+rng.IntN(3000), rng)
		frame = wire.AppendFrame(frame[:0], rec)
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}

// A record longer than the rotation size is written whole, in a file of
// its own, never refused (lumberjack alone would refuse it forever).
func TestFileOutputRecordOverMaxSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	out, err := NewFileOutput(FileConfig{Path: path, MaxSizeMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	small := []byte(strings.Repeat("s", 100) + "\n")
	big := []byte(strings.Repeat("b", 3<<20) + "\n")
	batch := append(append(append([]byte{}, small...), big...), small...)
	if n, err := out.Write(batch); err != nil || n != len(batch) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(batch))
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	var all []byte
	files, _ := filepath.Glob(filepath.Join(dir, "app*.log"))
	sort.Strings(files) // backups sort before app.log
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, big) && len(b) != len(big) {
			t.Errorf("%s: the long record shares its file (%d bytes)", f, len(b))
		}
		all = append(all, b...)
	}
	if !bytes.Equal(all, batch) {
		t.Fatalf("files hold %d bytes, want the %d written in order", len(all), len(batch))
	}
}

// With Compress, Close returns only when every backup is a complete .gz:
// a writer that exits right after a rotation leaves no plain backup beside
// a truncated .gz.
func TestFileOutputCompressFinishesBeforeClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	out, err := NewFileOutput(FileConfig{Path: path, MaxSizeMB: 1, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("z", 600<<10) + "\n")
	for range 5 {
		if _, err := out.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "app-*"))
	if err != nil || len(files) < 2 {
		t.Fatalf("backups %v, %v; want several", files, err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".log.gz") {
			t.Errorf("%s: not compressed at Close", filepath.Base(f))
			continue
		}
		rep, err := gunzipLen(f)
		if err != nil || rep%len(line) != 0 || rep == 0 {
			t.Errorf("%s: %d bytes after gunzip, %v; want whole lines", filepath.Base(f), rep, err)
		}
	}
}

func gunzipLen(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, zr)
	return int(n), err
}
