package sink

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/syncbuf"
)

// TestPipeDrop fills a pipe nobody reads with the Drop policy, then
// reads it: the drop notice reports exactly the records missing.
func TestPipeDrop(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := New("fd:"+strconv.Itoa(int(w.Fd())), WithPolicy(Drop))
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	for s.Stats().Dropped < 5 {
		// One chunk per record, so a record never waits half written.
		if _, err := s.Write(makeRecord(0, written, 1000)); err != nil {
			t.Fatal(err)
		}
		written++
	}
	got := make(chan []string)
	go func() {
		recs, _ := readPipe(t, r)
		got <- recs
	}()
	if _, err := s.Write(makeRecord(0, written, 1000)); err != nil {
		t.Fatal(err)
	}
	written++
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	delivered, reported := 0, uint64(0)
	for _, d := range <-got {
		if n, ok := isDropNotice(d); ok {
			reported += n
			continue
		}
		delivered++
	}
	st := s.Stats()
	if reported != st.Dropped || uint64(written-delivered) != st.Dropped || st.Sent != uint64(delivered) {
		t.Errorf("%d written, %d delivered, %d reported, stats %+v", written, delivered, reported, st)
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
