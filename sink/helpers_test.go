package sink

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
)

// rec is one record a fake server received.
type rec struct {
	session [wire.SessionIDSize]byte
	seq     uint64
	data    string
}

// streamServer is a fake writer on a stream socket. With a hello asking
// for acks it "writes" (commits) records in groups of ackEvery, or when
// its read buffer runs dry, and acknowledges after committing. A crash
// loses what is not committed; some commits are not acknowledged before
// the next one, so a crash after them makes the client replay records the
// server already has.
type streamServer struct {
	t        testing.TB
	path     string
	ackEvery int
	discard  bool // count only (benchmarks)
	noRings  bool // refuse shared rings, as a writer that can't map them
	refuse   int  // refuse this many hellos asking for acks, as sessions another process owns

	mu      sync.Mutex
	cond    sync.Cond
	recs    []rec
	hellos  int
	helloed [][wire.SessionIDSize]byte // the session of every hello asking for acks
	rings   int                        // hellos that passed a shared ring
	ln      *net.UnixListener
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
	onConn  func(net.Conn) bool // if set and returns false, the connection is not served
	running bool
}

func newStreamServer(t testing.TB, ackEvery int) *streamServer {
	srv := &streamServer{t: t, path: filepath.Join(t.TempDir(), "w.sock"), ackEvery: ackEvery}
	srv.cond.L = &srv.mu
	srv.start()
	t.Cleanup(srv.stop)
	return srv
}

func (srv *streamServer) addr() string { return "unix://" + srv.path }

func (srv *streamServer) start() {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: srv.path, Net: "unix"})
	if err != nil {
		srv.t.Fatal(err)
	}
	srv.mu.Lock()
	srv.ln, srv.conns, srv.running = ln, map[net.Conn]bool{}, true
	srv.mu.Unlock()
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			srv.mu.Lock()
			if !srv.running {
				srv.mu.Unlock()
				c.Close()
				return
			}
			srv.conns[c] = true
			srv.mu.Unlock()
			srv.wg.Add(1)
			go srv.serve(c)
		}
	}()
}

// stop closes the listener and every connection at once: a crash.
func (srv *streamServer) stop() {
	srv.mu.Lock()
	if !srv.running {
		srv.mu.Unlock()
		return
	}
	srv.running = false
	srv.ln.Close()
	for c := range srv.conns {
		c.Close()
	}
	srv.mu.Unlock()
	srv.wg.Wait()
}

// configure changes the server's behaviour for the connections that come
// after it: its fields are read under srv.mu as a connection starts.
func (srv *streamServer) configure(f func(srv *streamServer)) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	f(srv)
}

func (srv *streamServer) serve(c net.Conn) {
	defer srv.wg.Done()
	defer c.Close()
	srv.mu.Lock()
	onConn, discard, noRings, ackEvery := srv.onConn, srv.discard, srv.noRings, srv.ackEvery
	srv.mu.Unlock()
	if onConn != nil && !onConn(c) {
		return
	}
	// The first bytes are read catching a passed ring; after a hello
	// asking for it, the frames come through the ring.
	catch := &shmring.FDCatcher{Conn: c.(*net.UnixConn)}
	defer catch.Close()
	src := &switchReader{r: catch}
	fr := wire.NewFrameReader(src, 0)
	var session [wire.SessionIDSize]byte
	var seq uint64
	acking := false
	var pending []rec
	commits := 0
	var ack []byte
	for {
		f, err := fr.Next()
		if err != nil {
			return
		}
		if f.Control {
			m, err := wire.ParseControl(f.Payload)
			if err != nil {
				srv.t.Errorf("server: %v", err)
				return
			}
			h, ok := m.(wire.Hello)
			if !ok {
				srv.t.Errorf("server: unexpected %T", m)
				return
			}
			session, seq, acking = h.Session, h.FirstSeq, h.Flags&wire.HelloAck != 0
			srv.mu.Lock()
			srv.hellos++
			if h.Flags&wire.HelloShm != 0 {
				srv.rings++
			}
			refuse := acking && srv.refuse > 0
			if acking {
				srv.helloed = append(srv.helloed, h.Session)
			}
			if refuse {
				srv.refuse--
			}
			srv.mu.Unlock()
			if refuse {
				c.Write(wire.AppendError(nil, wire.ErrorFrame{Code: wire.CodeSession, Message: "the session belongs to another process"}))
				return
			}
			if h.Flags&wire.HelloShm != 0 && noRings {
				c.Write(wire.AppendError(nil, wire.ErrorFrame{Code: wire.CodeProtocol, Message: "shared ring: refused"}))
				return
			}
			if h.Flags&wire.HelloShm != 0 {
				if catch.File == nil {
					srv.t.Errorf("server: hello asks for shared memory without a descriptor")
					return
				}
				cons, err := shmring.Map(catch.File)
				if err != nil {
					srv.t.Errorf("server: %v", err)
					return
				}
				defer cons.Close()
				src.r = shmring.NewReader(cons, c, func() { c.Write(wire.AppendSpace(nil)) })
				fr.Discard()
				c.Write(wire.AppendSpace(nil)) // the ring is taken
			}
			catch.Close()
			continue
		}
		if discard {
			seq++
			if acking && fr.Buffered() == 0 {
				ack = wire.AppendAck(ack[:0], wire.Ack{Seq: seq - 1})
				if _, err := c.Write(ack); err != nil {
					return
				}
			}
			continue
		}
		pending = append(pending, rec{session, seq, string(f.Payload)})
		seq++
		if !acking || len(pending) >= ackEvery || fr.Buffered() == 0 {
			srv.mu.Lock()
			srv.recs = append(srv.recs, pending...)
			srv.cond.Broadcast()
			srv.mu.Unlock()
			pending = pending[:0]
			commits++
			if acking && (commits%3 != 0 || fr.Buffered() == 0) {
				ack = wire.AppendAck(ack[:0], wire.Ack{Seq: seq - 1})
				if _, err := c.Write(ack); err != nil {
					return
				}
			}
		}
	}
}

// switchReader lets a FrameReader's source change under it.
type switchReader struct{ r io.Reader }

func (sr *switchReader) Read(p []byte) (int, error) { return sr.r.Read(p) }

// waitRecords waits until the server has committed at least n records.
func (srv *streamServer) waitRecords(n int) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for len(srv.recs) < n {
		srv.cond.Wait()
	}
}

func (srv *streamServer) records() []rec {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]rec(nil), srv.recs...)
}

// dgramServer is a fake writer on a datagram socket.
type dgramServer struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	cond sync.Cond
	recs []string
	done chan struct{}
}

func newDgramServer(t testing.TB, keep bool) *dgramServer {
	srv := &dgramServer{path: filepath.Join(t.TempDir(), "w.sock"), done: make(chan struct{})}
	srv.cond.L = &srv.mu
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: srv.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	srv.conn = c
	go func() {
		defer close(srv.done)
		buf := make([]byte, 8<<20)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			srv.mu.Lock()
			if keep {
				srv.recs = append(srv.recs, string(buf[:n]))
			} else {
				srv.recs = append(srv.recs[:0], "")
			}
			srv.cond.Broadcast()
			srv.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-srv.done })
	return srv
}

func (srv *dgramServer) addr() string { return "unixgram://" + srv.path }

func (srv *dgramServer) waitRecords(n int) []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for len(srv.recs) < n {
		srv.cond.Wait()
	}
	return append([]string(nil), srv.recs...)
}

// testRecord is the JSON record the tests write: goroutine g's i-th
// record, padded to about size bytes.
type testRecord struct {
	G   int    `json:"g"`
	I   int    `json:"i"`
	Pad string `json:"pad"`
}

func makeRecord(g, i, size int) []byte {
	b := fmt.Appendf(nil, `{"g":%d,"i":%d,"pad":"`, g, i)
	for len(b) < size-3 {
		b = append(b, byte('a'+(i+len(b))%26))
	}
	return append(b, "\"}\n"...)
}

func recordSize(g, i int) int { return 40 + (g*7919+i*104729)%600 }

func parseRecord(t testing.TB, s string) testRecord {
	t.Helper()
	var r testRecord
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("record %.80q: %v", s, err)
	}
	return r
}

// checkOrdered checks that recs hold exactly records 0…n-1 of every
// goroutine 0…g-1, intact and in order per goroutine.
func checkOrdered(t testing.TB, recs []string, g, n int) {
	t.Helper()
	next := make([]int, g)
	for _, s := range recs {
		r := parseRecord(t, s)
		if r.G < 0 || r.G >= g {
			t.Fatalf("unexpected record %.80q", s)
		}
		if r.I != next[r.G] {
			t.Fatalf("goroutine %d: record %d, want %d", r.G, r.I, next[r.G])
		}
		if want := string(makeRecord(r.G, r.I, recordSize(r.G, r.I))); s != want {
			t.Fatalf("record torn: %.80q, want %.80q", s, want)
		}
		next[r.G]++
	}
	for i, n2 := range next {
		if n2 != n {
			t.Fatalf("goroutine %d: %d records, want %d", i, n2, n)
		}
	}
}

// writeAll writes n records from each of g goroutines.
func writeAll(t testing.TB, w io.Writer, g, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for gi := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if _, err := w.Write(makeRecord(gi, i, recordSize(gi, i))); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func datas(recs []rec) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.data
	}
	return out
}

func isDropNotice(s string) (uint64, bool) {
	if !strings.Contains(s, `"msg":"logfanin: records dropped"`) {
		return 0, false
	}
	var n struct {
		Dropped uint64 `json:"dropped"`
	}
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		panic(err)
	}
	return n.Dropped, true
}
