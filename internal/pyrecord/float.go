package pyrecord

import (
	"math"
	"strconv"
)

// maxTime is where the client stops writing ts to the microsecond (its
// _TS_MAX): below it a float's unit in the last place is under 2 µs.
const maxTime = 1e10

// appendTime appends ts as the client writes it: a time from 0 to 1e10
// seconds as its whole seconds and six digits of microseconds, truncated
// (1795967857.008942); any other as appendFloat writes it.
func appendTime(dst []byte, ts float64) []byte {
	if !(ts >= 0 && ts < maxTime) {
		return appendFloat(dst, ts)
	}
	sec := math.Trunc(ts)
	us := int64((ts - sec) * 1e6) // what "%06d" % ((ts - sec) * 1e6) writes
	dst = strconv.AppendInt(dst, int64(sec), 10)
	dst = append(dst, '.')
	for p := int64(100000); p > 1 && us < p; p /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, us, 10)
}

// appendFloat appends f as the client's JSON has it: Python's repr of a
// finite float (the shortest digits that read back as f; positional from
// 1e-4 up to 1e16, with ".0" if it has no fraction, exponential beyond,
// with a sign and at least two digits: 1e+16, 1.5e-05), and NaN and the
// infinities as the strings "nan", "inf" and "-inf", which is what the
// client writes for a value JSON can't hold (its repr).
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"nan"`...)
	case math.IsInf(f, 1):
		return append(dst, `"inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-inf"`...)
	}
	// strconv's shortest digits are Python's: both take, of the shortest
	// decimals that read back as f, the one nearest to it.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // -d.ddde±dd
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	var digits [24]byte
	nd := 0
	k := 0
	for ; e[k] != 'e'; k++ {
		if e[k] != '.' {
			digits[nd] = e[k]
			nd++
		}
	}
	exp, _ := strconv.Atoi(string(e[k+1:]))
	decpt := exp + 1 // digits[0] is worth 10**(decpt-1)
	ds := digits[:nd]
	switch {
	case decpt <= -4 || decpt > 16:
		dst = append(dst, ds[0])
		if nd > 1 {
			dst = append(dst, '.')
			dst = append(dst, ds[1:]...)
		}
		dst = append(dst, 'e')
		if exp < 0 {
			dst = append(dst, '-')
			exp = -exp
		} else {
			dst = append(dst, '+')
		}
		if exp < 10 {
			dst = append(dst, '0')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	case decpt <= 0:
		dst = append(dst, '0', '.')
		for range -decpt {
			dst = append(dst, '0')
		}
		return append(dst, ds...)
	case decpt >= nd:
		dst = append(dst, ds...)
		for range decpt - nd {
			dst = append(dst, '0')
		}
		return append(dst, '.', '0')
	default:
		dst = append(dst, ds[:decpt]...)
		dst = append(dst, '.')
		return append(dst, ds[decpt:]...)
	}
}
