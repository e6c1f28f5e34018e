package forward

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/writer"
)

// fakeClient answers exports as hold says: a batch, named by the body of
// its first record, is held until ctx ends (abandoned) or until release
// is closed (then accepted); the others are accepted at once. Every
// accepted record's body goes to got.
type fakeClient struct {
	hold    map[string]chan struct{} // nil channel: held until ctx ends
	mu      sync.Mutex
	got     []string
	uids    map[string]string // body: uid of the last one accepted
	flight  int               // exports being answered now
	maxSeen int               // the most at once
}

func (c *fakeClient) export(ctx context.Context, req plogotlp.ExportRequest) result {
	recs := req.Logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	c.mu.Lock()
	c.flight++
	c.maxSeen = max(c.maxSeen, c.flight)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.flight--
		c.mu.Unlock()
	}()
	if release, held := c.hold[recs.At(0).Body().Str()]; held {
		select {
		case <-ctx.Done():
			return result{outcome: retryable, msg: ctx.Err().Error()}
		case <-release:
		}
	}
	c.mu.Lock()
	if c.uids == nil {
		c.uids = map[string]string{}
	}
	for i := range recs.Len() {
		body := recs.At(i).Body().Str()
		c.got = append(c.got, body)
		uid, _ := recs.At(i).Attributes().Get(AttrUID)
		c.uids[body] = uid.Str()
	}
	c.mu.Unlock()
	return result{outcome: accepted}
}

func (c *fakeClient) close() error { return nil }

func (c *fakeClient) uid(body string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uids[body]
}

func (c *fakeClient) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// logOf writes n records, r0 to r(n-1), to a new log file and returns
// its path and size.
func logOf(t *testing.T, n int) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.log")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"msg\":\"r%d\"}\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, int64(b.Len())
}

// newFake makes a Forwarder of path, in batches of 10, answered by c.
func newFake(t *testing.T, path string, inFlight int, c *fakeClient) *Forwarder {
	t.Helper()
	f, err := New(Config{URL: "otlp://127.0.0.1:1", Path: path, MaxBatch: 10, MaxInFlight: inFlight, Diagnostics: &syncbuf.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	f.client.close()
	f.client = c
	return f
}

// waitBatches waits until n exports were answered, or 10 seconds passed
// (the caller's checks then fail).
func waitBatches(f *Forwarder, n uint64) {
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().Batches < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// checkpointOffset reads the stored checkpoint's offset in the log.
func checkpointOffset(t *testing.T, path string) int64 {
	t.Helper()
	st, err := loadState(DefaultCheckpoint(path), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Files) != 1 {
		t.Fatalf("checkpoint %+v: want the log file alone", st)
	}
	return st.Offset
}

// The checkpoint never passes a batch the receiver has not accepted,
// even when batches after it were: the first of three batches is held
// while the other two are accepted, then the Forwarder is stopped. A
// restart sends all three again, and nothing is lost.
func TestCheckpointWaitsForEarlierBatch(t *testing.T) {
	path, size := logOf(t, 30)
	c := &fakeClient{hold: map[string]chan struct{}{"r0": nil}}
	f := newFake(t, path, 3, c)
	f.Start()
	waitBatches(f, 2) // r10… and r20… accepted, r0… still held
	if got := c.received(); len(got) != 20 || got[0] == "r0" {
		t.Fatalf("received %v, want the second and third batches", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if off := checkpointOffset(t, path); off != 0 {
		t.Fatalf("checkpoint at offset %d, past the first batch, which was never accepted", off)
	}
	if s := f.Stats(); s.Forwarded != 20 || s.LagBytes != size {
		t.Fatalf("stats %v", s)
	}

	// Restarted: the three batches that were in flight are sent again.
	c2 := &fakeClient{}
	f2 := newFake(t, path, 3, c2)
	f2.Start()
	if err := f2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := c2.received()
	sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
	for i, b := range got {
		if want := fmt.Sprintf("r%d", i); b != want {
			t.Fatalf("after the restart, received %v; want r0 to r29 once each", got)
		}
	}
	if len(got) != 30 || checkpointOffset(t, path) != size {
		t.Fatalf("after the restart: %d records, checkpoint at %d of %d", len(got), checkpointOffset(t, path), size)
	}
}

// Batches accepted out of order are committed in order once the earlier
// one is accepted too; there are never more than MaxInFlight exports at
// a time.
func TestCheckpointInOrder(t *testing.T) {
	for _, inFlight := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(inFlight), func(t *testing.T) {
			path, size := logOf(t, 30)
			release := make(chan struct{})
			c := &fakeClient{}
			if inFlight > 1 {
				c.hold = map[string]chan struct{}{"r0": release}
			}
			f := newFake(t, path, inFlight, c)
			f.Start()
			if inFlight > 1 {
				// The batches after the held one that fit in the window
				// are answered; none beyond it is sent while r0 is held.
				waitBatches(f, uint64(inFlight-1))
				time.Sleep(20 * time.Millisecond)
				if got := c.received(); len(got) != 10*(inFlight-1) {
					t.Fatalf("received %d records while the first batch was held, want %d", len(got), 10*(inFlight-1))
				}
				if off := checkpointOffset(t, path); off != 0 {
					t.Fatalf("checkpoint at offset %d while the first batch is in flight", off)
				}
				close(release)
			}
			// Committed while running, not only by Close's last save.
			waitBatches(f, 3)
			for deadline := time.Now().Add(10 * time.Second); checkpointOffset(t, path) != size && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if off := checkpointOffset(t, path); off != size {
				t.Fatalf("checkpoint at offset %d once every batch was answered, want %d", off, size)
			}
			if err := f.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if off := checkpointOffset(t, path); off != size {
				t.Fatalf("checkpoint at offset %d, want %d", off, size)
			}
			if s := f.Stats(); s.Forwarded != 30 || s.Batches != 3 || s.LagBytes != 0 {
				t.Fatalf("stats %v", s)
			}
			// (With 3, the two later batches were answered while the
			// first was held: three were in flight. With 2, the third
			// waited for the first.)
			if c.maxSeen > inFlight {
				t.Fatalf("%d exports at once, with MaxInFlight %d", c.maxSeen, inFlight)
			}
		})
	}
}

// A backup of the checkpoint that is gone when its turn comes is counted
// as pruned, by what of it was never shipped, and reported; the live file
// after it is shipped whole.
func TestPrunedBackupCounted(t *testing.T) {
	path, size := logOf(t, 5)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	dev, ino := identity(fi)
	gone := filepath.Join(filepath.Dir(path), "app-2026-01-01T00-00-00.000.log")
	st := state{Version: stateVersion, Path: path, Offset: 200, Files: []entry{
		{ID: 1, Dev: dev, Ino: ino + 1, Backup: gone, Size: 1000},
		{ID: 2, Dev: dev, Ino: ino},
	}}
	if err := st.save(DefaultCheckpoint(path), false); err != nil {
		t.Fatal(err)
	}
	c := &fakeClient{}
	var diag syncbuf.Buffer
	f, err := New(Config{URL: "otlp://127.0.0.1:1", Path: path, MaxBatch: 10, Diagnostics: &diag})
	if err != nil {
		t.Fatal(err)
	}
	f.client.close()
	f.client = c
	f.Start()
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(); s.PrunedFiles != 1 || s.PrunedBytes != 800 || s.Forwarded != 5 {
		t.Fatalf("stats %v\n%s", s, diag.String())
	}
	if !strings.Contains(diag.String(), gone+" was removed before it was shipped: 800 bytes from offset 200 lost") {
		t.Fatalf("diagnostics:\n%s", diag.String())
	}
	if got := c.received(); len(got) != 5 || got[0] != "r0" {
		t.Fatalf("received %v, want r0 to r4", got)
	}
	if off := checkpointOffset(t, path); off != size {
		t.Fatalf("checkpoint at offset %d, want %d", off, size)
	}
}

// A live file truncated by something other than the writer (copytruncate)
// is shipped again from its start, with uids of a new file: none of its
// new lines is taken for a duplicate of a line the truncation removed.
// So it is when a rotation of the truncated file is announced before the
// forwarder looks: the backup's new lines are shipped, then the next file.
func TestTruncatedLiveFile(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprint("rotated ", rotate), func(t *testing.T) {
			path, _ := logOf(t, 30)
			c := &fakeClient{}
			f := newFake(t, path, 2, c)
			f.Start()
			defer f.Close(context.Background())
			waitBatches(f, 3)
			uid0 := c.uid("r0")
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			appendTo(t, path, "n0", "n1")
			want := []string{"n0", "n1"}
			if rotate {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				dev, ino := identity(fi)
				backup := path + ".1"
				f.Rotating(writer.RotateEvent{Dev: dev, Ino: ino, Size: fi.Size(), Backup: backup})
				if err := os.Rename(path, backup); err != nil {
					t.Fatal(err)
				}
				appendTo(t, path, "next")
				want = append(want, "next")
			}
			f.Wrote(1)
			waitBatches(f, uint64(3+len(want)-1))
			got := c.received()
			if len(got) != 30+len(want) || fmt.Sprint(got[30:]) != fmt.Sprint(want) {
				t.Fatalf("received %v, want r0 to r29, then %v\n%s", got, want, f.diag.(*syncbuf.Buffer).String())
			}
			if u := c.uid("n0"); u == "" || u == uid0 {
				t.Fatalf("n0 shipped with uid %q, r0 had %q: want one of its own", u, uid0)
			}
			if d := f.diag.(*syncbuf.Buffer).String(); !strings.Contains(d, "truncated") {
				t.Errorf("no diagnostic: %q", d)
			}
		})
	}
}

// appendTo appends records with these messages to the log at path.
func appendTo(t *testing.T, path string, msgs ...string) {
	t.Helper()
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for _, m := range msgs {
		fmt.Fprintf(file, "{\"msg\":%q}\n", m)
	}
}
