package writer

import "testing"

// TestWriteNowKeepsHandoverOrder: a reader writes its block at once only
// when no block handed over before it is still queued or being taken,
// the output goroutine has started, and the queue is open.
func TestWriteNowKeepsHandoverOrder(t *testing.T) {
	out := &slowOutput{}
	s := New(out)
	o := s.output
	newBlock := func(line string) *block {
		if !s.q.acquire(blockSize) {
			t.Fatal("acquire refused")
		}
		b := blockPool.Get().(*block)
		b.buf, b.records, b.charge = append(b.buf[:0], line...), 1, blockSize
		return b
	}

	if o.writeNow(newBlock("0\n")) {
		t.Fatal("wrote before the output goroutine started")
	}
	o.batch, o.started = make([]byte, 0, blockSize), true // as run begins

	if !s.q.send(newBlock("1\n")) {
		t.Fatal("send refused")
	}
	b2 := newBlock("2\n")
	if o.writeNow(b2) {
		t.Fatal("a block was written at once ahead of one queued before it")
	}
	// The output goroutine takes the queued block; then the output is idle.
	o.mu.Lock()
	o.take(<-s.q.ch)
	o.flushBatch()
	o.mu.Unlock()
	if !o.writeNow(b2) {
		t.Fatal("an idle output did not take the block at once")
	}
	if got := out.buf.String(); got != "1\n2\n" {
		t.Fatalf("output %q, want %q", got, "1\n2\n")
	}

	b3 := newBlock("3\n")
	s.q.close()
	if o.writeNow(b3) {
		t.Fatal("wrote after the queue closed")
	}
}
