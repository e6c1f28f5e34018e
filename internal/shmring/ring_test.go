//go:build linux

package shmring

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// pair returns the two sides of one ring, each through its own mapping of
// the memfd, as in two processes.
func pair(t *testing.T, size int) (*Producer, *Consumer) {
	t.Helper()
	p, f, err := NewProducer(size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Map(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return p, c
}

func TestStreamAcrossWraps(t *testing.T) {
	p, c := pair(t, MinSize)
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 1<<20)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	var got []byte
	buf := make([]byte, 3*MinSize)
	in := src
	for len(got) < len(src) {
		if len(in) > 0 {
			n := p.Write(in[:min(len(in), 1+rng.IntN(2*MinSize))])
			in = in[n:]
		}
		n, err := c.Read(buf[:1+rng.IntN(len(buf)-1)])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, src) {
		t.Fatal("the bytes read differ from the bytes written")
	}
}

func TestFullAndSpaceHandshake(t *testing.T) {
	p, c := pair(t, MinSize)
	if n := p.Write(make([]byte, MinSize+100)); n != MinSize {
		t.Fatalf("Write into an empty ring copied %d bytes, want %d", n, MinSize)
	}
	if n := p.Write([]byte("x")); n != 0 {
		t.Fatalf("Write into a full ring copied %d bytes", n)
	}
	if c.TakeWaiter() {
		t.Fatal("TakeWaiter true before the producer waits")
	}
	if !p.Wait() {
		t.Fatal("Wait on a full ring says there is space")
	}
	if n, err := c.Read(make([]byte, 10)); n != 10 || err != nil {
		t.Fatalf("Read: %d, %v", n, err)
	}
	if !c.TakeWaiter() {
		t.Fatal("TakeWaiter false while the producer waits")
	}
	if c.TakeWaiter() {
		t.Fatal("TakeWaiter claimed the same wait twice")
	}
	if p.Wait() {
		t.Fatal("Wait says the ring is full after the writer read 10 bytes")
	}
	if n := p.Write(make([]byte, 20)); n != 10 {
		t.Fatalf("Write copied %d bytes into 10 free, want 10", n)
	}
}

func TestSleepHandshake(t *testing.T) {
	p, c := pair(t, MinSize)
	if p.TakeSleeper() {
		t.Fatal("TakeSleeper true while the writer is awake")
	}
	if !c.Sleep() {
		t.Fatal("Sleep on an empty ring says there are bytes")
	}
	p.Write([]byte("rec"))
	if !p.TakeSleeper() {
		t.Fatal("TakeSleeper false while the writer sleeps")
	}
	if p.TakeSleeper() {
		t.Fatal("TakeSleeper claimed the same sleep twice")
	}
	c.Awake()
	// Bytes published before Sleep: the writer must not sleep.
	if c.Sleep() {
		t.Fatal("Sleep with unread bytes says the writer must sleep")
	}
	if p.TakeSleeper() {
		t.Fatal("TakeSleeper true after Sleep declined")
	}
}

func TestAckHandshake(t *testing.T) {
	p, c := pair(t, MinSize)
	if got := p.Acked(); got != 0 {
		t.Fatalf("Acked of a new ring is %d", got)
	}
	if c.PublishAck(5) {
		t.Fatal("PublishAck claimed a frame nobody waits for")
	}
	if got := p.Acked(); got != 5 {
		t.Fatalf("Acked is %d after PublishAck(5)", got)
	}
	c.PublishAck(3)
	if got := p.Acked(); got != 5 {
		t.Fatalf("Acked went back to %d", got)
	}
	if got := p.WantAck(); got != 5 {
		t.Fatalf("WantAck returned %d, want 5", got)
	}
	if !c.PublishAck(7) {
		t.Fatal("PublishAck did not claim the frame the producer waits for")
	}
	if c.PublishAck(8) {
		t.Fatal("PublishAck claimed the same wait twice")
	}
	// A wait is not used up by a value that is not new (a replayed
	// duplicate publishes the same value again).
	p.WantAck()
	if c.PublishAck(8) {
		t.Fatal("PublishAck claimed a wait without a new value")
	}
	if !c.PublishAck(9) {
		t.Fatal("PublishAck did not claim the wait with a new value")
	}
	// A producer that writes the word does not hold acknowledgements back.
	p.acked.Store(1 << 60)
	c.PublishAck(10)
	if got := p.Acked(); got != 10 {
		t.Fatalf("Acked is %d after the writer published 10 over a forged value", got)
	}
}

// TestAckHandshakeConcurrent races a producer that waits for every
// acknowledgement against a writer that publishes them: a wait announced
// just as the last value is published must still end, by the value WantAck
// returns or by the frame PublishAck claims.
func TestAckHandshakeConcurrent(t *testing.T) {
	p, c := pair(t, MinSize)
	const last = 200000
	frames := make(chan struct{}, last) // the claims a producer that stopped waiting left unread
	done := make(chan struct{})
	go func() {
		defer close(done)
		for next := uint64(1); next <= last; next++ {
			if c.PublishAck(next) {
				frames <- struct{}{}
			}
		}
	}()
	for want := uint64(1); want <= last; want += 997 {
		for p.Acked() < want {
			if p.WantAck() >= want {
				break
			}
			<-frames
		}
	}
	<-done
	if got := p.Acked(); got != last {
		t.Fatalf("Acked is %d, want %d", got, last)
	}
}

func TestCorruptHead(t *testing.T) {
	for name, head := range map[string]uint64{
		"beyond the ring": MinSize + 1,
		"behind the tail": ^uint64(0),
	} {
		t.Run(name, func(t *testing.T) {
			p, c := pair(t, MinSize)
			p.pubHead.Store(head)
			if _, err := c.Read(make([]byte, 10)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

func memfd(t *testing.T, size int64, seals int) *os.File {
	t.Helper()
	f, err := Memfd("test", size, seals)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestMapRefuses(t *testing.T) {
	plain, err := os.Create(filepath.Join(t.TempDir(), "ring"))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Truncate(HeaderSize + MinSize)
	for name, f := range map[string]*os.File{
		"regular file":   plain,
		"not sealed":     memfd(t, HeaderSize+MinSize, 0),
		"grow seal only": memfd(t, HeaderSize+MinSize, unix.F_SEAL_GROW),
		"too small":      memfd(t, HeaderSize+MinSize/2, unix.F_SEAL_SHRINK),
		"no header":      memfd(t, 100, unix.F_SEAL_SHRINK),
		"not power of 2": memfd(t, HeaderSize+3*MinSize, unix.F_SEAL_SHRINK),
		"too large":      memfd(t, HeaderSize+2*MaxSize, unix.F_SEAL_SHRINK),
		"write sealed":   memfd(t, HeaderSize+MinSize, unix.F_SEAL_SHRINK|unix.F_SEAL_WRITE),
	} {
		if c, err := Map(f); err == nil {
			c.Close()
			t.Errorf("%s: mapped", name)
		}
	}
	if c, err := Map(memfd(t, HeaderSize+MinSize, unix.F_SEAL_SHRINK)); err != nil {
		t.Errorf("a sealed memfd of a valid size: %v", err)
	} else {
		c.Close()
	}
}

func TestNewProducerSizes(t *testing.T) {
	for _, size := range []int{0, MinSize - 1, MinSize + 1, 2 * MaxSize} {
		if p, f, err := NewProducer(size); err == nil {
			p.Close()
			f.Close()
			t.Errorf("size %d accepted", size)
		}
	}
}

func BenchmarkProducerConsumer(b *testing.B) {
	p, f, err := NewProducer(DefaultSize)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c, err := Map(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rec := make([]byte, 224)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if p.Write(rec) < len(rec) {
			c.Read(buf)
			p.Write(rec)
		}
	}
}

func TestFreeze(t *testing.T) {
	p, c := pair(t, MinSize)
	p.Write([]byte("before"))
	c.Freeze()
	p.Write([]byte("after"))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "before" {
		t.Fatalf("Read after Freeze: %q, %v; want the bytes published before it", buf[:n], err)
	}
	if n, err := c.Read(buf); n != 0 || err != nil {
		t.Fatalf("second Read after Freeze: %d, %v", n, err)
	}
}

func TestSleepWhenFrozen(t *testing.T) {
	p, c := pair(t, MinSize)
	c.Freeze()
	p.Write([]byte("after"))
	if !c.Sleep() {
		t.Fatal("a frozen ring read to its limit does not let the writer sleep")
	}
}

// TestHandshakesConcurrent streams bytes through a small ring between two
// goroutines that use both handshakes as the sink and the writer do: the
// producer wakes a sleeping reader with a byte on a socket, the reader
// tells a waiting producer about space with a byte on another. A missed
// wake-up on either side hangs the test.
func TestHandshakesConcurrent(t *testing.T) {
	for round := range 5 {
		p, c := pair(t, MinSize)
		wake, err := socketPair()
		if err != nil {
			t.Fatal(err)
		}
		space, err := socketPair()
		if err != nil {
			t.Fatal(err)
		}
		src := make([]byte, 4<<20)
		rng := rand.New(rand.NewPCG(uint64(round), 3))
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		done := make(chan error, 1)
		go func() {
			in, buf := src, make([]byte, 1)
			for len(in) > 0 {
				n := p.Write(in[:min(len(in), 1+rng.IntN(3000))])
				in = in[n:]
				if n > 0 && p.TakeSleeper() {
					if _, err := wake[0].Write([]byte{1}); err != nil {
						done <- err
						return
					}
				}
				if n == 0 && p.Wait() {
					if _, err := space[1].Read(buf); err != nil {
						done <- err
						return
					}
				}
			}
			done <- wake[0].Close()
		}()
		r := NewReader(c, wake[1], func() { space[0].Write([]byte{1}) })
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, src) {
			t.Fatalf("round %d: %d bytes read, they differ from the %d written", round, len(got), len(src))
		}
		for _, f := range append(wake, space...) {
			f.Close()
		}
	}
}

// socketPair returns the two ends of a Unix stream socket pair.
func socketPair() ([]*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return []*os.File{os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")}, nil
}
