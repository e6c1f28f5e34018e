//go:build !race

package stress

// RaceEnabled reports whether the race detector is on; the tests scale
// their counts down under it.
const RaceEnabled = false
