package sink

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
)

func TestStreamOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		ring bool // the records go through a shared ring
	}{
		{"ack", nil, true},
		{"socket", []Option{WithSharedMemory(0)}, false},
		{"small-ring", []Option{WithSharedMemory(shmring.MinSize)}, true},
		{"noack", []Option{WithAck(false)}, false},
		{"batch", []Option{WithBatch(2 * time.Millisecond)}, true},
		{"batch-socket", []Option{WithBatch(2 * time.Millisecond), WithSharedMemory(0)}, false},
		{"batch-noack", []Option{WithBatch(time.Millisecond), WithAck(false)}, false},
		{"small-buffer", []Option{WithBufferSize(4 << 10)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newStreamServer(t, 7)
			s, err := New(srv.addr(), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			const g, n = 8, 400
			writeAll(t, s, g, n)
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			srv.waitRecords(g * n)
			checkOrdered(t, datas(srv.records()), g, n)
			st := s.Stats()
			if st.Sent != g*n || st.Buffered != 0 || st.Dropped != 0 || st.Errors != 0 {
				t.Errorf("stats %+v", st)
			}
			if got := srv.rings == 1; got != tc.ring || srv.hellos > 1 {
				t.Errorf("%d hellos, %d with a ring; want a ring: %v", srv.hellos, srv.rings, tc.ring)
			}
		})
	}
}

func TestDatagramOrder(t *testing.T) {
	srv := newDgramServer(t, true)
	s, err := New(srv.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const g, n = 6, 300
	writeAll(t, s, g, n)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	checkOrdered(t, srv.waitRecords(g*n), g, n)
	if st := s.Stats(); st.Sent != g*n {
		t.Errorf("stats %+v", st)
	}
}

func TestDatagramLimit(t *testing.T) {
	srv := newDgramServer(t, true)
	s, err := New(srv.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	limit := s.limit
	if limit < 64<<10 || limit > wire.DefaultMaxRecord {
		t.Fatalf("datagram limit %d", limit)
	}
	big := make([]byte, limit+1)
	_, err = s.Write(big)
	var se *SizeError
	if !errors.As(err, &se) || se.Max != limit {
		t.Fatalf("Write(%d bytes) = %v, want a SizeError with Max %d", len(big), err, limit)
	}
	rec := make([]byte, limit)
	for i := range rec {
		rec[i] = 'x'
	}
	if _, err := s.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	got := srv.waitRecords(1)
	if len(got) != 1 || got[0] != string(rec) {
		t.Fatalf("got %d records", len(got))
	}
	if st := s.Stats(); st.Oversize != 1 || st.Sent != 1 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// readPipe reassembles the records on r until every writer closed it.
func readPipe(t *testing.T, r io.Reader) (recs []string, pids map[int]uint32) {
	cr := wire.NewChunkReader(r, wire.ChunkConfig{OnDiscard: func(d wire.Discard) { t.Errorf("chunk reader discarded %+v", d) }})
	pids = map[int]uint32{}
	for {
		pr, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Error(err)
			break
		}
		r := parseRecord(t, string(pr.Data))
		if p, ok := pids[r.G]; ok && p != pr.PID {
			t.Errorf("goroutine %d: pid %d, then %d", r.G, p, pr.PID)
		}
		pids[r.G] = pr.PID
		recs = append(recs, string(pr.Data))
	}
	return recs, pids
}

func checkPipeRecords(t *testing.T, recs []string, g, n int) {
	t.Helper()
	next := make([]int, g)
	for _, s := range recs {
		r := parseRecord(t, s)
		if r.I != next[r.G] {
			t.Fatalf("goroutine %d: record %d, want %d", r.G, r.I, next[r.G])
		}
		if s != string(makeRecord(r.G, r.I, pipeRecordSize(r.G, r.I))) {
			t.Fatalf("record torn: %.80q", s)
		}
		next[r.G]++
	}
	for i, c := range next {
		if c != n {
			t.Fatalf("goroutine %d: %d records, want %d", i, c, n)
		}
	}
}

// TestPipeGoroutines: goroutines of two Sinks on one pipe, with this
// system's chunks and with the 512-byte chunks of macOS and the BSDs;
// every record comes out whole and in order.
func TestPipeGoroutines(t *testing.T) {
	for _, chunk := range []int{wire.PipeBuf, 512} {
		t.Run(strconv.Itoa(chunk), func(t *testing.T) {
			testPipeGoroutines(t, chunk)
		})
	}
}

func testPipeGoroutines(t *testing.T, chunk int) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type result struct {
		recs []string
	}
	res := make(chan result)
	go func() {
		recs, _ := readPipe(t, r)
		res <- result{recs}
	}()
	addr := "fd:" + strconv.Itoa(int(w.Fd()))
	// Two Sinks on one descriptor share its lock.
	s1, err := New(addr, withPipeChunk(chunk))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := New(addr, withPipeChunk(chunk))
	if err != nil {
		t.Fatal(err)
	}
	if s1.pipe != s2.pipe {
		t.Fatal("two Sinks on one fd do not share its state")
	}
	if s1.pipe.chunk != chunk {
		t.Fatalf("chunks of %d bytes, want %d", s1.pipe.chunk, chunk)
	}
	const g, n = 6, 150
	var wg sync.WaitGroup
	for gi := range g {
		wg.Add(1)
		s := s1
		if gi%2 == 1 {
			s = s2
		}
		go func() {
			defer wg.Done()
			for i := range n {
				if _, err := s.Write(makeRecord(gi, i, pipeRecordSize(gi, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, s := range []*Sink{s1, s2} {
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	checkPipeRecords(t, (<-res).recs, g, n)
	if st := s1.Stats(); st.Sent != g/2*n {
		t.Errorf("stats %+v", st)
	}
}

func TestPipeChildren(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const children = 3
	var cmds []*exec.Cmd
	for id := range children {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"="+strconv.Itoa(id), wire.EnvAddr+"=fd:3")
		cmd.ExtraFiles = []*os.File{w}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	w.Close()
	recs, pids := readPipe(t, r)
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}
	checkPipeRecords(t, recs, children*childGoroutines, childRecords)
	seen := map[uint32]int{}
	for g, pid := range pids {
		if pid == uint32(os.Getpid()) {
			t.Errorf("goroutine %d: parent's pid", g)
		}
		if o, ok := seen[pid]; ok && o/childGoroutines != g/childGoroutines {
			t.Errorf("children %d and %d share pid %d", o/childGoroutines, g/childGoroutines, pid)
		}
		seen[pid] = g
	}
	if len(seen) != children {
		t.Errorf("%d pids, want %d", len(seen), children)
	}
}

func TestPipeBroken(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()
	var errOut syncbuf.Buffer
	s, err := New("fd:"+strconv.Itoa(int(w.Fd())), WithErrorOutput(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write([]byte("{}\n")); err == nil {
		t.Fatal("write to a pipe without reader succeeded")
	}
	if st := s.Stats(); st.Lost != 1 || st.Errors != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestRingRefusedFallsBackToSocket: a writer that refuses the shared ring
// closes the first connection with a protocol error; the sink reports it,
// connects again without a ring, and every record arrives in order.
func TestRingRefusedFallsBackToSocket(t *testing.T) {
	srv := newStreamServer(t, 7)
	srv.configure(func(srv *streamServer) { srv.noRings = true })
	errOut := &syncbuf.Buffer{}
	s, err := New(srv.addr(), WithErrorOutput(errOut), WithBackoff(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	const g, n = 4, 200
	writeAll(t, s, g, n)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkOrdered(t, datas(srv.records()), g, n)
	srv.mu.Lock()
	hellos, rings := srv.hellos, srv.rings
	srv.mu.Unlock()
	if hellos != 2 || rings != 1 {
		t.Errorf("%d hellos, %d with a ring; want 2 and 1", hellos, rings)
	}
	if !strings.Contains(errOut.String(), "refused the shared ring") {
		t.Errorf("error output does not report the refusal:\n%s", errOut)
	}
}

// TestDatagramRestart: records written while the datagram writer is away
// wait in the buffer and are sent when it is back.
func TestDatagramRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.sock")
	listen := func() *net.UnixConn {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := listen()
	connected := make(chan struct{}, 4)
	s, err := New("unixgram://"+path, WithErrorOutput(&syncbuf.Buffer{}),
		WithBackoff(time.Millisecond, 2*time.Millisecond), withConnectHook(func() { connected <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-connected
	c.Close()
	os.Remove(path)
	const n = 20
	for i := range n {
		if _, err := s.Write(makeRecord(0, i, recordSize(0, i))); err != nil {
			t.Fatal(err)
		}
	}
	c = listen()
	defer c.Close()
	// Read while the Sink sends: Linux queues only a few datagrams
	// (net.unix.max_dgram_qlen) for a reader.
	got := make(chan []string)
	go func() {
		var recs []string
		buf := make([]byte, 1<<16)
		for range n {
			m, err := c.Read(buf)
			if err != nil {
				t.Error(err)
				break
			}
			recs = append(recs, string(buf[:m]))
		}
		got <- recs
	}()
	<-connected
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	recs := <-got
	checkOrdered(t, recs, 1, n)
	if st := s.Stats(); st.Reconnects != 1 || st.Sent != n {
		t.Errorf("stats %+v", st)
	}
}
