package logcheck

import "math/rand/v2"

// Sizes returns n record sizes between MinSize and max inclusive, drawn
// from a generator seeded with seed, so the same arguments always give the
// same mix. A third of the sizes are edge cases (see Edges), each edge
// equally likely. Of the rest, three in four are small (MinSize to
// 2*PipeBuf) and one in four is spread log-uniformly up to max, so small
// records dominate as in real logs while large ones still occur often. A
// max below MinSize is treated as MinSize.
func Sizes(seed uint64, n, max int) []int {
	if max < MinSize {
		max = MinSize
	}
	edges := Edges(max)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int, n)
	for i := range out {
		switch r := rng.IntN(12); {
		case r < 4:
			out[i] = edges[rng.IntN(len(edges))]
		case r < 10:
			out[i] = logUniform(rng, MinSize, min(max, 2*PipeBuf))
		default:
			out[i] = logUniform(rng, MinSize, max)
		}
	}
	return out
}

// Edges returns the boundary sizes Sizes favours, between MinSize and max
// inclusive, in increasing order: MinSize, PipeBuf-1, PipeBuf, PipeBuf+1,
// 64 KiB-1, 64 KiB, 64 KiB+1, max-1 and max.
func Edges(max int) []int {
	if max < MinSize {
		max = MinSize
	}
	var e []int
	for _, v := range []int{MinSize, PipeBuf - 1, PipeBuf, PipeBuf + 1,
		64<<10 - 1, 64 << 10, 64<<10 + 1, max - 1, max} {
		if v >= MinSize && v <= max && (len(e) == 0 || e[len(e)-1] < v) {
			e = append(e, v)
		}
	}
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
