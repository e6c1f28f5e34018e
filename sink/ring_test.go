package sink

import (
	"math/rand/v2"
	"testing"
)

// TestRing checks the ring against a simple model under random use.
func TestRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newRing(1000)
	var held [][]byte // model: oldest first
	sent := 0
	for step := range 200000 {
		switch op := rng.IntN(10); {
		case op < 5:
			rec := make([]byte, rng.IntN(300))
			for i := range rec {
				rec[i] = byte(step + i)
			}
			if !r.fits(4 + len(rec)) {
				if len(held) == 0 {
					t.Fatalf("record of %d bytes does not fit an empty ring", len(rec))
				}
				continue
			}
			r.push(rec)
			held = append(held, rec)
		case op < 7:
			k := rng.IntN(len(held) - sent + 1)
			a, b := r.unsentRuns()
			want := []byte{}
			for _, h := range held[sent:] {
				want = append(want, 0, 0, 0, 0)
				want = append(want, h...)
			}
			got := append(append([]byte{}, a...), b...)
			if len(got) != len(want) || r.unsentBytes != len(want) {
				t.Fatalf("step %d: unsent runs of %d bytes, want %d", step, len(got), len(want))
			}
			r.markSent(k)
			sent += k
		case op < 9:
			k := rng.IntN(sent + 1)
			for i := 0; i < k; i++ {
				if string(r.record(r.head)) != string(held[0]) {
					t.Fatalf("step %d: oldest record differs", step)
				}
				r.release(1)
				held = held[1:]
				sent--
			}
		default:
			r.rewind()
			sent = 0
		}
		if r.n != len(held) || r.unsent != len(held)-sent {
			t.Fatalf("step %d: ring has %d/%d, model %d/%d", step, r.n, r.unsent, len(held), len(held)-sent)
		}
	}
}
