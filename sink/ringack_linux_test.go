package sink

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
)

// TestSyncAfterAckFrameWithoutNews: a Sync waiting for the ring's
// acknowledgement gets an ack frame that tells it nothing new (the writer
// took its wait as it published a value the Sync had read already), and
// the acknowledgement it waits for is then published in the ring with no
// frame. The frame must send the Sync back to the ring: it ends. (It used
// to wait for a frame that never came, with every record written.)
func TestSyncAfterAckFrameWithoutNews(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New("unix://" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nc, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	// The writer's side: the hello with the ring, the ring taken.
	catch := &shmring.FDCatcher{Conn: nc}
	defer catch.Close()
	fr := wire.NewFrameReader(catch, 0)
	f, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	m, err := wire.ParseControl(f.Payload)
	if h, ok := m.(wire.Hello); err != nil || !ok || h.Flags&wire.HelloRingAck == 0 || catch.File == nil {
		t.Fatalf("first frame %#v (%v), want a hello passing a ring whose acks go in it", m, err)
	}
	cons, err := shmring.Map(catch.File)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	fr = wire.NewFrameReader(shmring.NewReader(cons, nc, func() { nc.Write(wire.AppendSpace(nil)) }), 0)
	nc.Write(wire.AppendSpace(nil))

	for _, rec := range []string{`{"n":1}`, `{"n":2}`} {
		if _, err := s.Write([]byte(rec)); err != nil {
			t.Fatal(err)
		}
		if _, err := fr.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if cons.PublishAck(2) { // record 1 written; no one waits yet
		t.Fatal("a wait for an ack frame before Sync")
	}
	synced := make(chan error, 1)
	go func() { synced <- s.Sync() }()
	// Sync reads record 1's acknowledgement in the ring and waits for
	// record 2's.
	for deadline := time.Now().Add(10 * time.Second); !cons.AckWanted(); {
		if time.Now().After(deadline) {
			t.Fatal("Sync never asked for an ack frame")
		}
		time.Sleep(time.Millisecond) // the ring's word has no signal to wait on
	}
	if !cons.PublishAck(3) { // record 2 written: this takes the wait
		t.Fatal("the Sync's wait was not taken")
	}
	// The frame that answers the wait carries what the Sync knew.
	nc.Write(wire.AppendAck(nil, wire.Ack{Seq: 1}))
	select {
	case err := <-synced:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync still waits, with every record acknowledged in the ring")
	}
}
