package sink

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// envAttacker makes the test binary a process that says hello with
// another process's session id (hex, then ",first sequence"), sends a
// few records and reports on stdout how the writer answered.
const envAttacker = "LOGFANIN_SINK_TEST_ATTACKER"

// attack is the attacker process: it holds the victim's raw session id,
// as if it had guessed or stolen it, and asks for the session with a
// first sequence ahead of the victim's.
func attack(v string) int {
	idHex, firstStr, _ := strings.Cut(v, ",")
	raw, err := hex.DecodeString(idHex)
	first, ferr := strconv.ParseUint(firstStr, 10, 64)
	if err != nil || ferr != nil || len(raw) != wire.SessionIDSize {
		fmt.Fprintln(os.Stderr, "bad attacker spec", v)
		return 2
	}
	addr, err := wire.ParseAddr(os.Getenv(wire.EnvAddr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, err := net.Dial("unix", addr.Path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer c.Close()
	h := wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck, FirstSeq: first}
	copy(h.Session[:], raw)
	b := wire.AppendHello(nil, h)
	for i := range 5 {
		b = wire.AppendFrame(b, []byte(fmt.Sprintf(`{"attacker":%d}`, i)))
	}
	if _, err := c.Write(b); err != nil {
		fmt.Println("write:", err)
	}
	fr := wire.NewFrameReader(c, wire.MaxControl)
	f, err := fr.Next()
	if err != nil {
		fmt.Println("read:", err)
		return 0
	}
	msg, err := wire.ParseControl(f.Payload)
	if err != nil {
		fmt.Println("parse:", err)
		return 0
	}
	switch m := msg.(type) {
	case *wire.ErrorFrame:
		fmt.Printf("error %d: %s\n", m.Code, m.Message)
	default:
		fmt.Printf("got %T\n", m)
	}
	return 0
}

// TestSessionTakeoverRefused is the attack of a co-tenant that learned a
// victim's session id: its hello for the session, from another process,
// is refused with an error frame, cuts nothing off and consumes no
// sequence; the victim keeps every record, once, and Sync tells the truth.
func TestSessionTakeoverRefused(t *testing.T) {
	for name, opts := range map[string][]Option{
		"ring":   nil,
		"socket": {WithSharedMemory(0)},
	} {
		t.Run(name, func(t *testing.T) { testSessionTakeover(t, opts) })
	}
}

func testSessionTakeover(t *testing.T, opts []Option) {
	w := newRealWriter(t)
	s, err := New(w.addr(), append([]Option{WithAck(true)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	const before, after = 10, 15
	for i := range before {
		fmt.Fprintf(s, `{"victim":%d}`, i)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), wire.EnvAddr+"="+w.addr(),
		envAttacker+"="+hex.EncodeToString(s.session[:])+",5")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("attacker: %v", err)
	}
	want := fmt.Sprintf("error %d:", wire.CodeSession)
	if !strings.HasPrefix(string(out), want) {
		t.Fatalf("attacker got %q, want an error frame %q", out, want)
	}

	for i := before; i < before+after; i++ {
		fmt.Fprintf(s, `{"victim":%d}`, i)
	}
	if err := s.Sync(); err != nil {
		t.Fatalf("victim's Sync: %v", err)
	}
	st := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Lost != 0 || st.Dropped != 0 {
		t.Fatalf("victim stats: %+v", st)
	}
	w.mu.Lock()
	ws := w.srv.Stats()
	w.mu.Unlock()
	if ws.SessionsRefused != 1 {
		t.Errorf("SessionsRefused = %d, want 1", ws.SessionsRefused)
	}

	got := map[int]int{}
	f, err := os.Open(filepath.Join(filepath.Dir(w.sock), "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			Victim   *int    `json:"victim"`
			Attacker *int    `json:"attacker"`
			SID      *string `json:"logfanin_sid"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		switch {
		case r.Attacker != nil:
			t.Errorf("an attacker's record was written: %s", sc.Text())
		case r.Victim != nil:
			got[*r.Victim]++
			if r.SID != nil && strings.Contains(hex.EncodeToString(s.session[:]), *r.SID) {
				t.Errorf("the output reveals the raw session id: %s", sc.Text())
			}
		}
	}
	for i := range before + after {
		if got[i] != 1 {
			t.Errorf("victim record %d written %d times", i, got[i])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedSessionReplays: a writer that refuses the Sink's session
// (another process opened a session of that id there first) makes the
// Sink take a new id and send its records under it: none is lost.
func TestRefusedSessionReplays(t *testing.T) {
	srv := newStreamServer(t, 4)
	srv.configure(func(srv *streamServer) { srv.refuse = 1 })
	s, err := New(srv.addr(), WithAck(true), WithSharedMemory(0), WithErrorOutput(io.Discard),
		WithBackoff(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 20
	for i := range n {
		fmt.Fprintf(s, `{"n":%d}`, i)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	helloed := slices.Clone(srv.helloed)
	srv.mu.Unlock()
	if len(helloed) < 2 || helloed[0] == helloed[len(helloed)-1] {
		t.Fatalf("sessions of the hellos: %x, want a new one after the refusal", helloed)
	}
	got := dedup(t, srv.records())
	if len(got) != n {
		t.Fatalf("%d records, want %d", len(got), n)
	}
	for i, r := range got {
		if r != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("record %d is %s", i, r)
		}
	}
}
