//go:build linux

package writer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/sink"
)

var shmHello = wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck | wire.HelloShm, FirstSeq: 1})

// memfd returns a memfd of size bytes named name, sealed with seals.
func memfd(t *testing.T, name string, size int64, seals int) *os.File {
	t.Helper()
	f, err := shmring.Memfd(name, size, seals)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// heldMemfd reports whether this process (the writer, in-process) still
// holds a descriptor of the memfd called name.
func heldMemfd(name string) bool {
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); strings.HasPrefix(l, "/memfd:"+name+" ") {
			return true
		}
	}
	return false
}

// sendWithFD writes b on a new connection with f passed alongside (none
// if f is nil).
func sendWithFD(t *testing.T, path string, b []byte, f *os.File) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var oob []byte
	if f != nil {
		oob = shmring.PassFD(f)
	}
	if _, _, err := c.WriteMsgUnix(b, oob, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// dialRing connects to path with a new ring of the smallest size, passed
// with hello.
func dialRing(t *testing.T, path string, hello []byte) (*shmring.Producer, *os.File, *net.UnixConn) {
	t.Helper()
	ring, memfd, err := shmring.NewProducer(shmring.MinSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close(); memfd.Close() })
	return ring, memfd, sendWithFD(t, path, hello, memfd)
}

// sendOK puts n records {"ok":1} into ring and wakes the writer on c if
// it sleeps, as a client does.
func sendOK(ring *shmring.Producer, c net.Conn, n int) {
	for range n {
		ring.Write(wire.AppendFrame(nil, []byte(`{"ok":1}`)))
		if ring.TakeSleeper() {
			c.Write([]byte{1})
		}
	}
}

// readErrorFrame reads control frames until an error frame and returns its
// code, then expects the connection to end.
func readErrorFrame(t *testing.T, c net.Conn) (uint16, string) {
	t.Helper()
	fr := wire.NewFrameReader(c, 0)
	for {
		fm, err := fr.Next()
		if err != nil {
			t.Fatalf("want an error frame, got %v", err)
		}
		v, err := wire.ParseControl(fm.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if ef, ok := v.(*wire.ErrorFrame); ok {
			if _, err := fr.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("connection not closed after the error frame: %v", err)
			}
			return ef.Code, ef.Message
		}
	}
}

// TestRingRefused: a hello asking for a shared ring is refused with a
// protocol error, counted, when the ring can't be used safely; the writer
// keeps no descriptor of it.
func TestRingRefused(t *testing.T) {
	plain, err := os.Create(filepath.Join(t.TempDir(), "ring"))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Truncate(shmring.HeaderSize + shmring.MinSize)
	cases := []struct {
		name    string
		fd      func(t *testing.T) *os.File
		want    string
		maxRing int
	}{
		{"no descriptor", func(*testing.T) *os.File { return nil }, "no descriptor", DefaultMaxRing},
		{"regular file", func(*testing.T) *os.File { return plain }, "not a sealable memfd", DefaultMaxRing},
		{"not sealed", func(t *testing.T) *os.File { return memfd(t, "unsealed", shmring.HeaderSize+shmring.MinSize, 0) }, "not sealed", DefaultMaxRing},
		{"size", func(t *testing.T) *os.File {
			return memfd(t, "badsize", shmring.HeaderSize+3*shmring.MinSize, unix.F_SEAL_SHRINK)
		}, "power of two", DefaultMaxRing},
		{"write sealed", func(t *testing.T) *os.File {
			return memfd(t, "wsealed", shmring.HeaderSize+shmring.MinSize, unix.F_SEAL_SHRINK|unix.F_SEAL_WRITE)
		}, "mmap", DefaultMaxRing},
		{"over the limit", func(t *testing.T) *os.File {
			return memfd(t, "big", shmring.HeaderSize+2*shmring.MinSize, unix.F_SEAL_SHRINK)
		}, "over this writer's limit", shmring.MinSize},
		{"rings off", func(t *testing.T) *os.File {
			return memfd(t, "off", shmring.HeaderSize+shmring.MinSize, unix.F_SEAL_SHRINK)
		}, "over this writer's limit of 0", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, WithMaxRing(tc.maxRing))
			path := f.sock("s.sock")
			f.listen("unix://" + path)
			fd := tc.fd(t)
			c := sendWithFD(t, path, shmHello, fd)
			if fd != nil && fd != plain {
				fd.Close() // only the writer's copy is left
			}
			code, msg := readErrorFrame(t, c)
			if code != wire.CodeProtocol || !strings.Contains(msg, tc.want) {
				t.Errorf("error frame %d %q, want code %d mentioning %q", code, msg, wire.CodeProtocol, tc.want)
			}
			waitFor(t, "connection to end", func() bool { return f.s.Stats().ClientsNow == 0 })
			if st := f.s.Stats(); st.ProtocolErrors != 1 || st.SharedRings != 0 {
				t.Errorf("stats: %v", st)
			}
			if fd != nil && fd != plain && heldMemfd(fd.Name()) {
				t.Errorf("the writer still holds the refused memfd")
			}
		})
	}
}

// TestRingCorruptHead: a client that publishes an impossible position is
// closed with a protocol error; what it sent before is written.
func TestRingCorruptHead(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	ring, memfd, c := dialRing(t, path, shmHello)
	sendOK(ring, c, 1)
	waitFor(t, "the first record", func() bool { return f.s.Stats().Records == 1 })
	// A second mapping stands for a client scribbling on the header.
	mem, err := unix.Mmap(int(memfd.Fd()), 0, shmring.HeaderSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	binary.NativeEndian.PutUint64(mem, 1<<40)
	c.Write([]byte{1})
	if code, msg := readErrorFrame(t, c); code != wire.CodeProtocol || !strings.Contains(msg, "out of range") {
		t.Errorf("error frame %d %q", code, msg)
	}
	lines := f.lines()
	if len(lines) != 1 || lines[0]["ok"] != 1.0 {
		t.Errorf("output: %v", lines)
	}
	if st := f.s.Stats(); st.ProtocolErrors != 1 || st.SharedRings != 1 {
		t.Errorf("stats: %v", st)
	}
}

// TestStrayDescriptorsClosed: descriptors passed with a hello that does not
// ask for a ring, or with a data frame, are closed, and the records are
// written as usual.
func TestStrayDescriptorsClosed(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	plainHello := wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck, FirstSeq: 1})
	for i, first := range [][]byte{plainHello, wire.AppendFrame(nil, []byte(`{"n":1}`))} {
		name := []string{"stray-hello", "stray-frame"}[i]
		fd := memfd(t, name, shmring.HeaderSize+shmring.MinSize, unix.F_SEAL_SHRINK)
		c := sendWithFD(t, path, append(first, wire.AppendFrame(nil, []byte(`{"n":2}`))...), fd)
		fd.Close()
		want := []uint64{1, 3}[i]
		waitFor(t, "records", func() bool { return f.s.Stats().Records == want })
		// The connection is still open: the writer let go of the
		// descriptor at the first frame, not at the end.
		waitFor(t, name+" closed by the writer", func() bool { return !heldMemfd(name) })
		c.Close()
	}
	if st := f.s.Stats(); st.SharedRings != 0 || st.ProtocolErrors != 0 {
		t.Errorf("stats: %v", st)
	}
}

// TestRingLargeRecords: records larger than the ring pass through it in
// pieces, the client waiting for space notices.
func TestRingLargeRecords(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	inproc := senders(0, 2, 40, 256<<10)
	runSenders(t, inproc, nil, func(sd sender) error {
		s, err := sink.New("unix://"+path, sink.WithSharedMemory(shmring.MinSize), sink.WithMaxRecord(256<<10))
		if err != nil {
			return err
		}
		if err := sd.records(func(rec []byte) error { _, err := s.Write(rec); return err }); err != nil {
			return err
		}
		return s.Close()
	}, nil)
	f.check(inproc)
	if st := f.s.Stats(); st.SharedRings != 2 {
		t.Errorf("stats: %v", st)
	}
}

// TestRingAcks: a client that asks for acknowledgements in its ring reads
// them there and gets an ack frame only when it says it waits for one, and,
// once it has closed its side, for the last records.
func TestRingAcks(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	hello := wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck | wire.HelloShm | wire.HelloRingAck, FirstSeq: 1})
	ring, _, c := dialRing(t, path, hello)
	frames := make(chan any, 16)
	go func() {
		defer close(frames)
		fr := wire.NewFrameReader(c, 0)
		for {
			fm, err := fr.Next()
			if err != nil {
				return
			}
			v, err := wire.ParseControl(fm.Payload)
			if err != nil {
				v = err
			}
			frames <- v
		}
	}()
	if v := <-frames; v != (wire.Space{}) {
		t.Fatalf("first frame %#v, want the space notice that takes the ring", v)
	}
	sendOK(ring, c, 3)
	waitFor(t, "the ring to acknowledge 3 records", func() bool { return ring.Acked() == 4 })
	if got := ring.WantAck(); got != 4 {
		t.Fatalf("WantAck returned %d, want 4", got)
	}
	sendOK(ring, c, 1)
	// Had the writer sent an ack frame per batch, the first would be 1..3.
	// A frame with record 3's ack can come first: the client asked just
	// after reading it in the ring, as the writer published it and took
	// the wait. The client then looks at the ring again and asks anew, as
	// the sink does, and the frame for record 4 may or may not follow.
	switch v := <-frames; v {
	case wire.Ack{Seq: 4}:
	case wire.Ack{Seq: 3}:
		if ring.WantAck() < 5 {
			if v := <-frames; v != (wire.Ack{Seq: 4}) {
				t.Fatalf("frame %#v after asking again, want the ack of record 4", v)
			}
		}
	default:
		t.Fatalf("frame %#v, want the ack of record 4 the client waited for", v)
	}
	sendOK(ring, c, 1)
	c.CloseWrite()
	// After the client closed, the writer acknowledges the last record.
	var last any
	for v := range frames {
		if a, ok := v.(wire.Ack); !ok || a.Seq < 4 || a.Seq > 5 {
			t.Fatalf("frame %#v after the ack of record 4, want acks of records 4 and 5", v)
		}
		last = v
	}
	if last != (wire.Ack{Seq: 5}) {
		t.Fatalf("last frame %#v, want the ack of the last record after the client closed", last)
	}
	if st := f.s.Stats(); st.Acks < 2 || st.Acks > 4 || st.Records != 5 {
		t.Errorf("stats: %v", st)
	}
}

// TestRingAcksSmallBuffer: a sink whose buffer fills again and again waits
// for acknowledgements it reads in the ring, and every record arrives.
func TestRingAcksSmallBuffer(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	inproc := senders(0, 2, 3000, 300)
	runSenders(t, inproc, nil, func(sd sender) error {
		s, err := sink.New("unix://"+path, sink.WithBufferSize(16<<10))
		if err != nil {
			return err
		}
		if err := sd.records(func(rec []byte) error { _, err := s.Write(rec); return err }); err != nil {
			return err
		}
		if err := s.Sync(); err != nil {
			return err
		}
		if st := s.Stats(); st.Sent != 3000 || st.Buffered != 0 {
			return fmt.Errorf("sink stats after Sync: %+v", st)
		}
		return s.Close()
	}, nil)
	f.check(inproc)
	if st := f.s.Stats(); st.SharedRings != 2 {
		t.Errorf("stats: %v", st)
	}
}

// ringAckClient starts a Server writing to out and connects a client
// that reads its acknowledgements in its shared ring; the writer has taken
// the ring (its space notice came).
func ringAckClient(t *testing.T, out Output) (*Server, *shmring.Producer, *net.UnixConn) {
	t.Helper()
	s := New(out, WithDiagnostics(io.Discard))
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen("unix://" + path); err != nil {
		t.Fatal(err)
	}
	hello := wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck | wire.HelloShm | wire.HelloRingAck, FirstSeq: 1})
	ring, _, c := dialRing(t, path, hello)
	if _, err := wire.NewFrameReader(c, 0).Next(); err != nil { // the space notice
		t.Fatal(err)
	}
	return s, ring, c
}

// TestRingNoAckForLostRecords: records the writer gives up on at a forced
// shutdown are counted lost and never acknowledged in the ring, so that
// the client replays them to the next writer.
func TestRingNoAckForLostRecords(t *testing.T) {
	s, ring, c := ringAckClient(t, &faultyOutput{always: true})
	sendOK(ring, c, 3)
	waitFor(t, "a failed write", func() bool { return s.Stats().WriteErrors > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s.Shutdown(ctx)
	if st := s.Stats(); st.Lost != 3 || ring.Acked() != 0 {
		t.Errorf("lost %d of 3 records, acknowledged in the ring up to %d, want 0", st.Lost, ring.Acked())
	}
}

// TestSinkReadsAcksInRing: the sink asks for acknowledgements in its ring
// and reads them there: its counts catch up without a single ack frame
// while it never waits.
func TestSinkReadsAcksInRing(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	s, err := sink.New("unix://" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2000 {
		if _, err := s.Write([]byte(`{"n":` + strconv.Itoa(i) + `}`)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the sink to count 2000 records acknowledged", func() bool { return s.Stats().Sent == 2000 })
	if st := f.s.Stats(); st.Acks != 0 || st.SharedRings != 1 {
		t.Errorf("writer stats: %v, want no ack frame to a sink that never waited", st)
	}
}
