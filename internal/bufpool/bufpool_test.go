package bufpool

import "testing"

func TestSize(t *testing.T) {
	cases := []struct{ n, want int }{
		{0, MinSize}, {1, MinSize}, {MinSize, MinSize}, {MinSize + 1, 2 * MinSize},
		{65 << 10, MinSize}, {1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}, {MaxSize, MaxSize}, {MaxSize + 1, MaxSize + 1},
	}
	for _, c := range cases {
		if got := Size(c.n); got != c.want {
			t.Errorf("Size(%d) = %d, want %d", c.n, got, c.want)
		}
		b := Get(c.n)
		if len(b) != c.n || cap(b) != c.want {
			t.Errorf("Get(%d): len %d cap %d, want cap %d", c.n, len(b), cap(b), c.want)
		}
		Put(b)
	}
}

// TestPutForeign: a buffer not of a class's size is not pooled, so Get
// never hands out one smaller than asked.
func TestPutForeign(t *testing.T) {
	Put(make([]byte, 0, MinSize+7))
	Put(make([]byte, 0, 100))
	for range 10 {
		if b := Get(MinSize); cap(b) != MinSize {
			t.Fatalf("Get(MinSize) has cap %d", cap(b))
		}
	}
}
