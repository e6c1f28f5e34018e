// Package bufpool keeps the large byte buffers of big records for reuse:
// a record over the usual buffer sizes (a 64 KiB stack trace, a request
// dump) then costs its copies, not an allocation, the zeroing of fresh
// memory and the garbage collector's work to take it back, for each one.
//
// Buffers come in size classes, powers of two from MinSize; a request
// above MaxSize gets a buffer of its own, which Put drops. The pools are
// sync.Pools, so buffers nobody asks for go away with the garbage
// collector: an idle program holds none.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 17
	maxShift = 27

	// MinSize is the smallest buffer Get returns.
	MinSize = 1 << minShift
	// MaxSize is the largest buffer kept for reuse.
	MaxSize = 1 << maxShift
)

var pools [maxShift - minShift + 1]sync.Pool

// class returns the index of the pool for a buffer of at least n bytes,
// or -1 if n is over MaxSize.
func class(n int) int {
	if n <= MinSize {
		return 0
	}
	if n > MaxSize {
		return -1
	}
	return bits.Len(uint(n-1)) - minShift
}

// Size returns the capacity of the buffer Get(n) returns.
func Size(n int) int {
	c := class(n)
	if c < 0 {
		return n
	}
	return MinSize << c
}

// Get returns a buffer of length n and capacity Size(n). Its contents are
// whatever an earlier user left in it.
func Get(n int) []byte {
	c := class(n)
	if c < 0 {
		return make([]byte, n)
	}
	if p, ok := pools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, MinSize<<c)
}

// Put gives b back for reuse. b must have come from Get, and neither it
// nor any slice of it may be used afterwards.
func Put(b []byte) {
	c := class(cap(b))
	if c < 0 || MinSize<<c != cap(b) {
		return
	}
	b = b[:0]
	pools[c].Put(&b)
}
