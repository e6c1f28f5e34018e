package syncbuf

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("abc\n"))
			}
		})
	}
	wg.Wait()
	s := b.String()
	if n := strings.Count(s, "abc\n"); n != 800 || len(s) != 3200 {
		t.Fatalf("got %d whole lines in %d bytes, want 800 in 3200", n, len(s))
	}
}

func TestLimit(t *testing.T) {
	b := Buffer{Limit: 10}
	for range 5 {
		if n, err := b.Write([]byte("1234")); n != 4 || err != nil {
			t.Fatalf("Write = %d, %v; want 4, nil", n, err)
		}
	}
	// Writes stop once the limit is reached; the one that crosses it is kept.
	if got := b.String(); got != "123412341234" {
		t.Fatalf("String = %q", got)
	}
}

func TestWaitFor(t *testing.T) {
	var b Buffer
	if b.WaitFor("x", time.Millisecond) {
		t.Fatal("WaitFor found what was never written")
	}
	done := make(chan bool)
	go func() { done <- b.WaitFor("needle", 10*time.Second) }()
	b.Write([]byte("hay "))
	b.Write([]byte("needle"))
	if !<-done {
		t.Fatal("WaitFor missed a write")
	}
}
