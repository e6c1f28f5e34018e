package logcheck

import "math/rand/v2"

// Sizes returns n record sizes between MinSize and max inclusive, drawn
// from a generator seeded with seed, so the same arguments always give the
// same mix. About a third of the sizes are edge cases: MinSize, PipeBuf-1,
// PipeBuf, PipeBuf+1, each multiple of 64 KiB and its neighbours, and max
// itself (edges above max are left out). The rest are spread
// log-uniformly, so small records dominate as in real logs while large
// ones still occur. A max below MinSize is treated as MinSize.
func Sizes(seed uint64, n, max int) []int {
	if max < MinSize {
		max = MinSize
	}
	edges := Edges(max)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int, n)
	for i := range out {
		if rng.IntN(3) == 0 {
			out[i] = edges[rng.IntN(len(edges))]
			continue
		}
		out[i] = logUniform(rng, MinSize, max)
	}
	return out
}

// Edges returns the boundary sizes Sizes favours, between MinSize and max
// inclusive, in increasing order.
func Edges(max int) []int {
	if max < MinSize {
		max = MinSize
	}
	var e []int
	add := func(v int) {
		if v >= MinSize && v <= max && (len(e) == 0 || e[len(e)-1] < v) {
			e = append(e, v)
		}
	}
	add(MinSize)
	add(PipeBuf - 1)
	add(PipeBuf)
	add(PipeBuf + 1)
	for b := 64 << 10; b-1 <= max; b += 64 << 10 {
		add(b - 1)
		add(b)
		add(b + 1)
	}
	add(max)
	return e
}

// logUniform returns an int in [lo, hi] whose logarithm is uniform.
func logUniform(rng *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	// Pick a bit length, then a value of that length, clamped to range.
	loBits, hiBits := bitLen(lo), bitLen(hi)
	bits := loBits + rng.IntN(hiBits-loBits+1)
	v := 1<<(bits-1) + rng.IntN(1<<(bits-1))
	if v < lo {
		v = lo + rng.IntN(min(hi, 2*lo)-lo+1)
	}
	if v > hi {
		m := max(lo, hi/2)
		v = m + rng.IntN(hi-m+1)
	}
	return v
}

func bitLen(v int) int {
	n := 0
	for v > 0 {
		n++
		v >>= 1
	}
	return n
}
