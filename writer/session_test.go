package writer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
)

// gateOutput holds every Write until open is closed; started gets a value
// when a Write begins.
type gateOutput struct {
	started chan struct{}
	open    chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func newGateOutput() *gateOutput {
	return &gateOutput{started: make(chan struct{}, 1), open: make(chan struct{})}
}

func (o *gateOutput) Write(p []byte) (int, error) {
	select {
	case o.started <- struct{}{}:
	default:
	}
	<-o.open
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *gateOutput) Reopen() error { return nil }
func (o *gateOutput) Close() error  { return nil }

// seqs returns the logfanin_seq of every output line, in order.
func (o *gateOutput) seqs(t *testing.T) []uint64 {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	var seqs []uint64
	for line := range strings.SplitSeq(strings.TrimSuffix(o.buf.String(), "\n"), "\n") {
		var v struct {
			Seq uint64 `json:"logfanin_seq"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("output line %.80q: %v", line, err)
		}
		seqs = append(seqs, v.Seq)
	}
	return seqs
}

// startGated starts a Server writing to a gateOutput and listening on a
// socket; the test's end shuts it down (with a bound: a hung Shutdown is a
// failure, not a hung test).
func startGated(t *testing.T, opts ...Option) (*Server, *gateOutput, string) {
	t.Helper()
	out := newGateOutput()
	s := New(out, append([]Option{WithDiagnostics(&syncbuf.Buffer{})}, opts...)...)
	s.Start()
	path := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen("unix://" + path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, out, path
}

// sessionClient speaks the ack protocol of one session over successive
// connections.
type sessionClient struct {
	t    *testing.T
	path string
	h    wire.Hello
}

func newSessionClient(t *testing.T, path string) *sessionClient {
	sc := &sessionClient{t: t, path: path}
	sc.h.Version, sc.h.Flags = wire.ProtocolVersion, wire.HelloAck
	rand.Read(sc.h.Session[:])
	return sc
}

// dial connects and returns the connection with the bytes to send: the
// hello and records first…last, each of size bytes.
func (sc *sessionClient) dial(first, last uint64, size int) (*net.UnixConn, []byte) {
	sc.t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sc.path, Net: "unix"})
	if err != nil {
		sc.t.Fatal(err)
	}
	sc.h.FirstSeq = first
	b := wire.AppendHello(nil, sc.h)
	for i := first; i <= last; i++ {
		rec := `{"i":` + strconv.FormatUint(i, 10) + `,"pad":"`
		rec += strings.Repeat("x", max(size-len(rec)-2, 0)) + `"}`
		b = wire.AppendFrame(b, []byte(rec))
	}
	return c, b
}

// awaitAck reads acks on c until one covers seq.
func awaitAck(t *testing.T, c net.Conn, seq uint64) {
	t.Helper()
	fr := wire.NewFrameReader(c, 0)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		f, err := fr.Next()
		if err != nil {
			t.Fatalf("waiting for the ack of %d: %v", seq, err)
		}
		v, _ := wire.ParseControl(f.Payload)
		if a, ok := v.(wire.Ack); ok && a.Seq >= seq {
			return
		}
	}
}

// TestReconnectKeepsOrder: a client reconnects while the writer still has
// records of its old connection to read (the output is stalled, so the
// old connection's reader waits for queue room). The new connection replays
// them and adds more. Its records must not overtake the old connection's:
// the output holds every sequence once, in order, and the new connection's
// acks never cover a record still queued. With "stalled past the
// handover", the output stays stalled until the new connection has cut
// the old one off (the old one's client is still blocked sending).
func TestReconnectKeepsOrder(t *testing.T) {
	for _, stall := range []bool{false, true} {
		name := "stalled"
		if stall {
			name = "stalled past the handover"
		}
		t.Run(name, func(t *testing.T) { testReconnectKeepsOrder(t, stall) })
	}
}

func testReconnectKeepsOrder(t *testing.T, stallPastHandover bool) {
	waiting := make(chan struct{}, 1)
	// Before the server's goroutines start.
	testHookAwaitPrevious = func(_, _ *conn) { waiting <- struct{}{} }
	defer func() { testHookAwaitPrevious = nil }()
	if stallPastHandover {
		defer func(d time.Duration) { handoverWait = d }(handoverWait)
		handoverWait = 10 * time.Millisecond
	}
	diag := &syncbuf.Buffer{}
	s, out, path := startGated(t, WithQueueBytes(blockSize), WithBatchSize(48<<10), WithDiagnostics(diag))

	const size, old, total = 40 << 10, 16, 18
	cl := newSessionClient(t, path)
	c1, b1 := cl.dial(1, old, size)
	sent1 := make(chan error, 1)
	go func() {
		// More than the queue, the batch and the socket buffer hold: this
		// write finishes only once the output moves again.
		_, err := c1.Write(b1)
		c1.Close()
		sent1 <- err
	}()
	<-out.started

	c2, b2 := cl.dial(1, total, size) // the oldest unacknowledged record is 1
	defer c2.Close()
	sent2 := make(chan error, 1)
	go func() {
		_, err := c2.Write(b2)
		sent2 <- err
	}()
	select {
	case <-waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("the new connection was read without waiting for the old one")
	}
	if stallPastHandover {
		waitFor(t, "the old connection to be cut off", func() bool {
			return strings.Contains(diag.String(), "up to what it has buffered")
		})
	}
	close(out.open)
	if err := <-sent1; err != nil && !stallPastHandover {
		t.Fatal(err) // cut off, the old connection refuses the rest: the new one replays it
	}
	if err := <-sent2; err != nil {
		t.Fatal(err)
	}
	awaitAck(t, c2, total)
	c2.Close()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	seqs := out.seqs(t)
	if len(seqs) != total {
		t.Fatalf("%d records written, want %d: %v", len(seqs), total, seqs)
	}
	for i, seq := range seqs {
		if seq != uint64(i+1) {
			t.Fatalf("sequences out of order: %v", seqs)
		}
	}
	if st := s.Stats(); st.Duplicates == 0 || st.Duplicates > old {
		t.Errorf("%d duplicates skipped, want 1 to %d (the replayed records the old connection delivered)", st.Duplicates, old)
	}
}

// TestReconnectChain: a client drops its new connection while that one
// still waits for the old one, and connects a third time. The third waits
// for the second, not for the first (else the second and third could take
// the session in either order, and the one left owning it could be the one
// that ended, so that the live one got no acks).
func TestReconnectChain(t *testing.T) {
	type wait struct{ c, prev *conn }
	waits := make(chan wait, 2)
	testHookAwaitPrevious = func(c, prev *conn) { waits <- wait{c, prev} }
	defer func() { testHookAwaitPrevious = nil }()
	s, out, path := startGated(t)
	cl := newSessionClient(t, path)
	c1, b1 := cl.dial(1, 2, 100)
	c1.Write(b1)
	<-out.started // the old connection's records are stuck in the output
	c1.Close()

	c2, b2 := cl.dial(1, 3, 100)
	c2.Write(b2)
	w2 := <-waits
	c2.Close() // dropped before it was read

	c3, b3 := cl.dial(1, 4, 100)
	defer c3.Close()
	c3.Write(b3)
	w3 := <-waits
	if w3.prev != w2.c {
		t.Errorf("the third connection waits for %p, want the second (%p)", w3.prev, w2.c)
	}
	close(out.open)
	awaitAck(t, c3, 4)
	c3.Close()
	waitFor(t, "every connection to end", func() bool { return s.Stats().ClientsNow == 0 })
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.seqs(t); len(got) != 4 || got[0] != 1 || got[3] != 4 {
		t.Errorf("sequences %v, want [1 2 3 4]", got)
	}
}

// TestReplacedConnectionEnds: the old connection of a session whose last
// record is written only after the client reconnected must still end (its
// ack loop used to wait for a wake-up that went to the new connection
// only, holding the connection, its goroutines and its ring until
// Shutdown).
func TestReplacedConnectionEnds(t *testing.T) {
	s, out, path := startGated(t) // its bounded Shutdown: this connection used to hold one forever
	cl := newSessionClient(t, path)
	c1, b1 := cl.dial(1, 1, 100)
	c1.Write(b1)
	<-out.started // record 1 is in the output's Write
	c1.Close()    // the client gives up on the connection before the ack

	c2, b2 := cl.dial(1, 2, 100)
	defer c2.Close()
	c2.Write(b2)
	waitFor(t, "the replayed record read on the new connection", func() bool { return s.Stats().Duplicates == 1 })
	close(out.open)
	awaitAck(t, c2, 2)
	c2.Close()
	waitFor(t, "both connections to end", func() bool { return s.Stats().ClientsNow == 0 })
	if got := out.seqs(t); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("sequences %v, want [1 2]", got)
	}
}

// slowOutput takes a while over every Write, as a slow disk does.
type slowOutput struct {
	delay time.Duration
	buf   syncbuf.Buffer
}

func (o *slowOutput) Write(p []byte) (int, error) { time.Sleep(o.delay); return o.buf.Write(p) }
func (o *slowOutput) Reopen() error               { return nil }
func (o *slowOutput) Close() error                { return nil }

// TestIdleDeadlineExcludesWriterTime: a connection whose reader waits for
// queue room behind a stalled output, in the middle of a frame, for longer
// than the idle timeout is not closed as stalled: that time was the
// writer's, not the client's.
func TestIdleDeadlineExcludesWriterTime(t *testing.T) {
	const idle = 50 * time.Millisecond
	s, out, path := startGated(t, WithIdleTimeout(idle), WithQueueBytes(blockSize), WithBatchSize(48<<10))
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 12
	var b []byte
	for i := range n {
		b = appendFrame(b, fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 40<<10)))
	}
	sent := make(chan error, 1)
	go func() { _, err := c.Write(b); sent <- err }()
	<-out.started
	time.Sleep(4 * idle) // the output stays stalled past the idle timeout
	close(out.open)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, "every record", func() bool { return s.Stats().Records == n || s.Stats().IdleClosed > 0 })
	if st := s.Stats(); st.Records != n || st.IdleClosed != 0 {
		t.Errorf("%d of %d records written, %d connections closed as stalled", st.Records, n, st.IdleClosed)
	}
}

// TestSessionBoundToFirstPeer: a session belongs to the peer of its first
// connection; a hello from another process (another pid, or another uid)
// is refused before it touches the session, and the owner's next
// connection joins it after the one before.
func TestSessionBoundToFirstPeer(t *testing.T) {
	f := newFixture(t)
	var id [wire.SessionIDSize]byte
	rand.Read(id[:])
	owner := peerID{known: true, pid: 100, uid: 1000}
	c1 := &conn{peerID: owner}
	ss, prev, err := f.s.join(id, c1)
	if err != nil || prev != nil || ss.owner != owner {
		t.Fatalf("first join: %v, prev %v, owner %+v", err, prev, ss.owner)
	}
	for _, other := range []peerID{
		{known: true, pid: 101, uid: 1000},
		{known: true, pid: 100, uid: 1001},
		{},
	} {
		if got, prev, err := f.s.join(id, &conn{peerID: other}); !errors.Is(err, errSessionOwned) || got != nil || prev != nil {
			t.Errorf("join by %+v: %v, %v, %v; want errSessionOwned", other, got, prev, err)
		}
		if ss.latest.Load() != c1 {
			t.Errorf("a refused join by %+v replaced the latest connection", other)
		}
	}
	c2 := &conn{peerID: owner}
	if got, prev, err := f.s.join(id, c2); err != nil || got != ss || prev != c1 || ss.latest.Load() != c2 {
		t.Errorf("the owner's second join: %v, prev %v, err %v", got, prev, err)
	}
}

// TestSessionRefusedOnTheWire: a hello for a session another process owns
// gets an error frame of code 5 and is counted; nothing it sends is
// written and the owner's connection stays the session's.
func TestSessionRefusedOnTheWire(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	var id [wire.SessionIDSize]byte
	rand.Read(id[:])
	c1 := &conn{peerID: peerID{known: true, pid: 1, uid: 0}} // not this test's process
	ss, _, err := f.s.join(id, c1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck, FirstSeq: 1, Session: id})
	msg = wire.AppendFrame(msg, []byte(`{"msg":"intruder"}`))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if ef := lastErrorFrame(t, c); ef == nil || ef.Code != wire.CodeSession {
		t.Errorf("error frame %+v, want code %d", ef, wire.CodeSession)
	}
	waitFor(t, "connection to end", func() bool { return f.s.Stats().ClientsNow == 0 })
	if st := f.s.Stats(); st.SessionsRefused != 1 || st.Records != 0 {
		t.Errorf("stats: %+v", st)
	}
	if ss.latest.Load() != c1 {
		t.Error("the refused hello replaced the owner's connection")
	}
}
