package writer

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/pyrecord"
	"github.com/logfanin/logfanin/internal/wire"
)

// pyGolden returns n Python records made by the Python client's own code
// and the JSON its formatting writes for each (internal/pyrecord's
// testdata).
func pyGolden(t *testing.T, n int) (recs [][]byte, want []string) {
	t.Helper()
	f, err := os.Open("../internal/pyrecord/testdata/records.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for len(recs) < n && sc.Scan() {
		h, w, _ := strings.Cut(sc.Text(), "\t")
		rec, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		recs, want = append(recs, rec), append(want, w)
	}
	if len(recs) < n {
		t.Fatalf("%d golden records, want %d", len(recs), n)
	}
	return recs, want
}

// sendAcked sends recs after hello h (which asks for acks) and waits for
// the ack of the last one.
func sendAcked(t *testing.T, path string, h wire.Hello, recs [][]byte) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := wire.AppendHello(nil, h)
	for _, r := range recs {
		b = wire.AppendFrame(b, r)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	last := h.FirstSeq + uint64(len(recs)) - 1
	fr := wire.NewFrameReader(c, 0)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		fm, err := fr.Next()
		if err != nil {
			t.Fatalf("waiting for the ack of %d: %v", last, err)
		}
		if v, _ := wire.ParseControl(fm.Payload); v == (wire.Ack{Seq: last}) {
			return
		}
	}
}

// newHello is the hello of a new session that asks for acks, and flags.
func newHello(flags uint8) wire.Hello {
	h := wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck | flags, FirstSeq: 1}
	rand.Read(h.Session[:])
	return h
}

// pyRecord is a Python record with one extra field, name, an int value.
func pyRecord(name string, value int32) []byte {
	b := append([]byte{}, pyrecord.Magic[:]...)
	b = append(b, 'g')
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(1795967857.25))
	str := func(s string) {
		b = append(b, 'u')
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	str("info")
	str("app")
	str("hello")
	b = append(b, 'N', 'N', '{')
	str(name)
	b = append(b, 'i')
	b = binary.LittleEndian.AppendUint32(b, uint32(value))
	return append(b, '0')
}

// TestPyRecordForgedFields: a Python record's extra field named as one of
// the writer's loses to the writer's, as in a JSON record.
func TestPyRecordForgedFields(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	sendAcked(t, path, newHello(wire.HelloPyRecords), [][]byte{pyRecord("pipe_pid", 4242), pyRecord("logfanin_seq", -1)})
	lines := f.lines()
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	if v, ok := lines[0]["pipe_pid"]; !ok || v != nil {
		t.Errorf("forged pipe_pid: %v", lines[0])
	}
	if lines[1]["logfanin_seq"] != 2.0 || lines[1]["msg"] != "hello" {
		t.Errorf("forged logfanin_seq: %v", lines[1])
	}
}

// TestPyRecords: on a connection whose hello asks for Python records, each
// is written as the JSON its client would have written, with the
// writer's fields after it; a JSON record beside them is written as it
// is, and a malformed Python record as text, counted. Without the flag a
// Python record is only text.
func TestPyRecords(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	recs, want := pyGolden(t, 30)
	bad := append(append([]byte{}, pyrecord.Magic[:]...), "garbage"...)
	sendAcked(t, path, newHello(wire.HelloPyRecords), append(append(recs, []byte(`{"json":1}`)), bad))
	sendAcked(t, path, newHello(0), recs[:1])
	st := f.s.Stats()
	lines := f.lines()
	if len(lines) != len(recs)+3 {
		t.Fatalf("%d lines, want %d", len(lines), len(recs)+3)
	}
	raw, err := os.ReadFile(f.out)
	if err != nil {
		t.Fatal(err)
	}
	text := bytes.Split(raw, []byte("\n"))
	for i, w := range want {
		// The writer's own fields (session, sequence) follow the client's.
		if !bytes.HasPrefix(text[i], []byte(w[:len(w)-1]+",")) {
			t.Fatalf("line %d:\n got %.300s\nwant %.300s", i+1, text[i], w)
		}
	}
	if lines[len(recs)]["json"] != 1.0 {
		t.Errorf("the JSON record: %v", lines[len(recs)])
	}
	for _, m := range lines[len(recs)+1:] {
		if msg, _ := m["msg"].(string); !strings.HasPrefix(msg, "(\a") {
			t.Errorf("not written as text: %v", m)
		}
	}
	if st.PyRecords != uint64(len(recs)) || st.Wrapped != 2 {
		t.Errorf("py records %d, wrapped %d; want %d and 2", st.PyRecords, st.Wrapped, len(recs))
	}
	if !strings.Contains(f.diag.String(), "python record:") {
		t.Errorf("the malformed record was not reported: %s", f.diag)
	}
}
