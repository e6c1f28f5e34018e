//go:build linux

package shmring

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCloseReleasesPages: pages of the data area that the writer faulted
// in (a client published bytes it never wrote) do not outlive the
// connection, even while the client keeps the memfd: Close punches them
// out, so no client can pile up memory charged to the writer.
func TestCloseReleasesPages(t *testing.T) {
	const size = 64 << 10
	p, f, err := NewProducer(size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defer p.Close()
	c, err := Map(f)
	if err != nil {
		t.Fatal(err)
	}
	blocks := func() int64 {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks * 512
	}
	// Publish the whole data area without writing it: the writer's
	// reads fault every page in.
	p.pubHead.Store(size)
	buf := make([]byte, size)
	if n, err := c.Read(buf); n != size || err != nil {
		t.Fatalf("Read: %d, %v", n, err)
	}
	if got := blocks(); got < size {
		t.Fatalf("%d bytes allocated after the reads, want at least %d", got, size)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := blocks(); got > HeaderSize {
		t.Errorf("%d bytes still allocated after Close, want at most the header's %d", got, HeaderSize)
	}
}

// TestReaderFlood: a Reader takes one wake-up per sleep and more with
// slack, and ends with ErrFlood once the wake-ups run far ahead of its
// sleeps, having returned what the ring held.
func TestReaderFlood(t *testing.T) {
	p, c := pair(t, MinSize)
	socks, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer socks[0].Close()
	defer socks[1].Close()
	sock, peer := socks[0], socks[1]
	r := NewReader(c, sock, nil)
	buf := make([]byte, 64)
	// A correct client: one wake-up each time it finds the writer asleep.
	for i := range 100 {
		done := make(chan error, 1)
		go func() {
			_, err := r.Read(buf)
			done <- err
		}()
		for !p.TakeSleeper() {
			// The reader announces its sleep before it blocks.
		}
		p.Write([]byte{byte(i)})
		peer.Write([]byte{1})
		if err := <-done; err != nil {
			t.Fatalf("correct wake-up %d: %v", i, err)
		}
	}
	p.Write([]byte("last"))
	peer.Write(make([]byte, 4096))
	var got []byte
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if !errors.Is(err, ErrFlood) {
				t.Fatalf("err %v, want ErrFlood", err)
			}
			break
		}
	}
	if string(got) != "last" {
		t.Errorf("read %q before the cut-off, want what the ring held", got)
	}
}
