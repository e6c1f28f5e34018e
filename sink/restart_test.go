package sink

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/syncbuf"
)

// dedup keeps one record per (session, sequence), checking that copies
// are equal, and returns them in sequence order.
func dedup(t *testing.T, recs []rec) []string {
	t.Helper()
	type key struct {
		session [16]byte
		seq     uint64
	}
	seen := map[key]string{}
	var keys []key
	var session [16]byte
	for i, r := range recs {
		if i == 0 {
			session = r.session
		} else if r.session != session {
			t.Fatalf("session changed")
		}
		k := key{r.session, r.seq}
		if d, ok := seen[k]; ok {
			if d != r.data {
				t.Fatalf("seq %d sent twice with different records", r.seq)
			}
			continue
		}
		seen[k] = r.data
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return int(a.seq) - int(b.seq) })
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = seen[k]
		if i > 0 && k.seq != keys[i-1].seq+1 {
			t.Fatalf("sequence gap: %d after %d", k.seq, keys[i-1].seq)
		}
	}
	return out
}

// TestRestartBlockAck crashes the writer repeatedly while goroutines
// write: with Block and acks every record arrives, in order, and a record
// that arrives twice carries the same sequence.
func TestRestartBlockAck(t *testing.T) {
	for name, opts := range map[string][]Option{
		"ring":   nil,
		"socket": {WithSharedMemory(0)},
	} {
		t.Run(name, func(t *testing.T) { testRestartBlockAck(t, opts) })
	}
}

func testRestartBlockAck(t *testing.T, opts []Option) {
	srv := newStreamServer(t, 5)
	connected := make(chan struct{}, 64)
	s, err := New(srv.addr(), append([]Option{WithBufferSize(32 << 10), WithBackoff(time.Millisecond, 4*time.Millisecond),
		WithErrorOutput(&syncbuf.Buffer{}), withConnectHook(func() { signal(connected) })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	const g, n, restarts = 4, 1500, 6
	done := make(chan struct{})
	go func() {
		writeAll(t, s, g, n)
		close(done)
	}()
	for k := 1; k <= restarts; k++ {
		<-connected // stop each server only once the sink has found it
		srv.waitRecords(k * g * n / (restarts + 2))
		srv.stop()
		srv.start()
	}
	<-done
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	recs := srv.records()
	checkOrdered(t, dedup(t, recs), g, n)
	st := s.Stats()
	if st.Sent != g*n || st.Reconnects < restarts || st.Lost != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
	wantRings := 0
	if len(opts) == 0 {
		wantRings = srv.hellos
	}
	if srv.rings != wantRings {
		t.Errorf("%d of %d hellos passed a ring, want %d", srv.rings, srv.hellos, wantRings)
	}
	t.Logf("%d records received for %d, %d reconnects, %d hellos", len(recs), g*n, st.Reconnects, srv.hellos)
}

// TestRestartDropAck stops the writer long enough for a small buffer to
// overflow, repeatedly, while goroutines write with the Drop policy: the
// records missing from the output are exactly the dropped ones, as counted
// by Stats and reported by the drop notices.
func TestRestartDropAck(t *testing.T) {
	srv := newStreamServer(t, 5)
	s, err := New(srv.addr(), WithPolicy(Drop), WithBufferSize(8<<10),
		WithBackoff(time.Millisecond, 4*time.Millisecond), WithErrorOutput(&syncbuf.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	// Writers 0…g-1 write until told to stop.
	const g, restarts = 4, 4
	stop := make(chan struct{})
	counts := make([]int, g+1)
	var wg sync.WaitGroup
	for gi := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					counts[gi] = i
					return
				default:
				}
				if _, err := s.Write(makeRecord(gi, i, recordSize(gi, i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	// The test goroutine is writer number g: while the server is down it
	// writes until a drop is counted.
	mine := 0
	for range restarts {
		srv.waitRecords(len(srv.records()) + 500)
		srv.stop()
		for before := s.Stats().Dropped; s.Stats().Dropped == before; mine++ {
			if _, err := s.Write(makeRecord(g, mine, recordSize(g, mine))); err != nil {
				t.Fatal(err)
			}
		}
		srv.start()
	}
	srv.waitRecords(len(srv.records()) + 500)
	close(stop)
	wg.Wait()
	counts[g] = mine
	total := 0
	for _, c := range counts {
		total += c
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var reported uint64
	next := make([]int, g+1)
	delivered := 0
	for _, d := range dedup(t, srv.records()) {
		if c, ok := isDropNotice(d); ok {
			reported += c
			continue
		}
		r := parseRecord(t, d)
		if r.I < next[r.G] {
			t.Fatalf("goroutine %d: record %d after %d", r.G, r.I, next[r.G]-1)
		}
		if d != string(makeRecord(r.G, r.I, recordSize(r.G, r.I))) {
			t.Fatalf("record torn: %.80q", d)
		}
		next[r.G] = r.I + 1
		delivered++
	}
	missing := total - delivered
	st := s.Stats()
	if missing == 0 || uint64(missing) != st.Dropped || reported != st.Dropped || st.Lost != 0 {
		t.Errorf("%d records missing, %d reported in notices, stats %+v", missing, reported, st)
	}
	t.Logf("%d of %d records dropped", missing, total)
}
