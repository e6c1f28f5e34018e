package writer

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// liveMemory is the live heap after a collection plus goroutine stacks:
// the writer's memory as the Go runtime accounts it (the race detector's
// shadow memory, which RSS would include, is left out).
func liveMemory() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// TestThousandSlowLargeFrames: a thousand clients each announce a 1 MiB
// frame, send 100 KiB of it and stall. The large-frame budget keeps the
// writer's memory within the bound stated in the package documentation
// (without it, each connection would hold a 1 MiB buffer: a gigabyte), a
// well-behaved client's records all arrive meanwhile, and every bad client
// ends counted as a partial record.
func TestThousandSlowLargeFrames(t *testing.T) {
	const (
		clients     = 1000
		maxBuffered = 16 << 20
		good        = 200
	)
	f := newFixture(t, WithMaxFrameMemory(maxBuffered), WithIdleTimeout(time.Minute))
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	before := liveMemory()

	payload := append(frameHeader(1<<20), bytes.Repeat([]byte("x"), 100<<10)...)
	conns := make([]net.Conn, clients)
	var wg sync.WaitGroup
	for i := range conns {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		conns[i] = c
		wg.Go(func() {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write(payload) // may stop at the deadline: the writer is not reading
		})
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	wg.Wait()
	waitFor(t, "all connections accepted", func() bool { return f.s.Stats().ClientsNow == clients })

	// A well-behaved client is served while they all hang.
	gc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range good {
		if _, err := gc.Write(wire.AppendFrame(nil, []byte(`{"good":`+itoa(i)+`}`))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the good client's records", func() bool { return f.s.Stats().Records == good })
	gc.Close()

	used := liveMemory() - min(before, liveMemory())
	st := f.s.Stats()
	// The bound of the package documentation, for this configuration,
	// plus the test's own client goroutines.
	bound := uint64(DefaultQueueBytes + 2*maxBuffered + (clients+1)*(perConnMemory+8<<10))
	t.Logf("memory in use: %d MiB (bound %d MiB), frame buffers %d MiB", used>>20, bound>>20, st.FrameBuffers>>20)
	if used > bound {
		t.Errorf("memory grew by %d bytes, over the bound of %d", used, bound)
	}
	if st.FrameBuffers > maxBuffered+(1<<20) {
		t.Errorf("frame buffers hold %d bytes, over the budget %d", st.FrameBuffers, maxBuffered)
	}

	for _, c := range conns {
		c.Close()
	}
	waitFor(t, "the bad clients to end", func() bool { return f.s.Stats().ClientsNow == 0 })
	if st := f.s.Stats(); st.Partial != clients || st.FrameBuffers != 0 {
		t.Errorf("want %d partial records and no frame buffer left: %v", clients, st)
	}
	if n := len(f.lines()); n != good {
		t.Errorf("%d lines, want %d", n, good)
	}
}

// TestThousandMisbehavingClients: while a thousand clients send every
// kind of bad input at once, a well-behaved client's records all arrive,
// and each bad client ends with a counted outcome.
func TestThousandMisbehavingClients(t *testing.T) {
	f := newFixture(t, WithIdleTimeout(2*time.Second), WithMaxRecord(64<<10))
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	bad := [][]byte{
		frameHeader(0xFFFFFFFF),                      // 4 GiB: protocol error (control bit, over 4096)
		frameHeader(0x7FFFFFFF),                      // 2 GiB: too large
		append(frameHeader(100), "short"...),         // truncated: partial at close
		append(frameHeader(wire.ControlBit|1), 0x7F), // unknown control: protocol error
		append(frameHeader(10), "slow"...),           // stalls: idle timeout
	}
	const clients = 1000
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		c.Write(bad[i%len(bad)])
		conns[i] = c
	}
	gc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	const good = 500
	for i := range good {
		if _, err := gc.Write(wire.AppendFrame(nil, []byte(`{"good":`+itoa(i)+`}`))); err != nil {
			t.Fatal(err)
		}
	}
	gc.Close()
	waitFor(t, "the good client's records", func() bool { return f.s.Stats().Records == good })
	for i, c := range conns {
		if i%len(bad) == 2 {
			c.Close() // ends the truncated frame
		}
	}
	waitFor(t, "every bad client to end", func() bool { return f.s.Stats().ClientsNow == 0 })
	for _, c := range conns {
		c.Close()
	}
	st := f.s.Stats()
	per := uint64(clients / len(bad))
	if st.ProtocolErrors != 2*per || st.TooLarge != per || st.IdleClosed != per || st.Partial != 2*per {
		t.Errorf("want %d protocol errors, %d too large, %d idle, %d partial: %v", 2*per, per, per, 2*per, st)
	}
	if n := len(f.lines()); n != good {
		t.Errorf("%d lines, want %d", n, good)
	}
}

// TestAllowUIDs: with an allowlist, a stream connection and datagrams from
// another uid are refused and counted; the allowed uid gets through.
func TestAllowUIDs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a sender as another user")
	}
	// Another user must reach the sockets: a directory all can search,
	// sockets all can connect to; the allowlist is the only gate.
	dir, err := os.MkdirTemp("", "logfanin-uid-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	f := newFixture(t, WithAllowUIDs(0), WithSocketMode(0o666), WithPeerCred(true))
	stream, gram := filepath.Join(dir, "s.sock"), filepath.Join(dir, "g.sock")
	f.listen("unix://" + stream)
	f.listen("unixgram://" + gram)

	run := func(mode, addr string, sd sender, uid string) {
		t.Helper()
		cmd := newChildCmd(mode, addr, sd)
		if uid != "" {
			cmd.Env = append(cmd.Env, "CHILD_SETUID="+uid)
			cmd.Stderr = nil // a refused sender fails: the writer closed on it
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
	}
	run("stream", stream, sender{Producer: 0, N: 10, Max: 500}, "")
	run("gram", gram, sender{Producer: 1, N: 10, Max: 500}, "")
	run("stream", stream, sender{Producer: 2, N: 10, Max: 500}, "65534")
	run("gram", gram, sender{Producer: 3, N: 10, Max: 500}, "65534")
	waitFor(t, "refusals", func() bool { st := f.s.Stats(); return st.Refused == 11 && st.ClientsNow == 0 })
	lines := f.lines()
	for _, l := range lines {
		if l["peer_uid"] != 0.0 {
			t.Errorf("record from uid %v written: %v", l["peer_uid"], l)
		}
	}
	if len(lines) != 20 {
		t.Errorf("%d lines, want the allowed senders' 20", len(lines))
	}
	if !strings.Contains(f.diag.String(), "uid 65534 not allowed") {
		t.Errorf("diagnostics do not name the refused uid:\n%s", f.diag.String())
	}
}

// TestAllowUIDsErrorFrame: a refused stream client reads an error frame
// with CodeRefused, then end of stream.
func TestAllowUIDsErrorFrame(t *testing.T) {
	f := newFixture(t, WithAllowUIDs(uint32(os.Geteuid())+1))
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(wire.AppendFrame(nil, []byte(`{"a":1}`)))
	fr := wire.NewFrameReader(c, 0)
	fm, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	v, _ := wire.ParseControl(fm.Payload)
	if ef, ok := v.(*wire.ErrorFrame); !ok || ef.Code != wire.CodeRefused {
		t.Fatalf("got %v, want a refused error frame", v)
	}
	if _, err := fr.Next(); err == nil {
		t.Fatal("connection still open")
	}
	if st := f.s.Stats(); st.Refused != 1 {
		t.Errorf("stats: %v", st)
	}
	if n := len(f.lines()); n != 0 {
		t.Errorf("%d lines written from a refused client", n)
	}
}

// TestAckGap: a session may skip sequence numbers (the sink's fallback
// file took some records): the writer writes the records after the gap,
// and acks the last one promptly once it is written.
func TestAckGap(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	h := newHello(0)
	send := func(first uint64, n int) {
		t.Helper()
		h.FirstSeq = first
		var recs [][]byte
		for i := range n {
			recs = append(recs, []byte(`{"i":`+itoa(int(first)+i)+`}`))
		}
		sendAcked(t, path, h, recs)
	}
	send(1, 2)
	send(10, 2) // 3…9 went elsewhere
	lines := f.lines()
	var seqs []float64
	for _, l := range lines {
		seqs = append(seqs, l["logfanin_seq"].(float64))
	}
	if len(seqs) != 4 || seqs[0] != 1 || seqs[1] != 2 || seqs[2] != 10 || seqs[3] != 11 {
		t.Errorf("sequences %v, want [1 2 10 11]", seqs)
	}
}

// TestPeerCredLastWins: a client's own "peer_pid" loses to the writer's,
// as encoding/json reads the line.
func TestPeerCredLastWins(t *testing.T) {
	f := newFixture(t, WithPeerCred(true))
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(wire.AppendFrame(nil, []byte(`{"peer_pid":1,"peer_uid":4242,"msg":"forged"}`)))
	c.Close()
	lines := f.lines()
	if len(lines) != 1 {
		t.Fatalf("%d lines", len(lines))
	}
	var rec struct {
		PID int `json:"peer_pid"`
		UID int `json:"peer_uid"`
	}
	data, _ := os.ReadFile(f.out)
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.PID != os.Getpid() || rec.UID != os.Geteuid() {
		t.Errorf("read peer_pid %d peer_uid %d, want %d %d: %s", rec.PID, rec.UID, os.Getpid(), os.Geteuid(), data)
	}
}
