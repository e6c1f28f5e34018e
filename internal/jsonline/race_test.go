//go:build race

package jsonline

// raceEnabled reports whether the race detector is on: sync.Pool then
// drops what it is given at random, so encoding/json's pooled scanners
// are allocated again and allocation counts mean nothing.
const raceEnabled = true
