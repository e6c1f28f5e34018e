package forward

import (
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// AttrUID is the attribute that names a record uniquely: the same line
// forwarded twice (at least once allows it) carries the same value.
const AttrUID = "log.record.uid"

// record fills lr from one line of the log, without its newline, read in
// one pass: a JSON object gives the time (ts or time), the severity
// (level), the body (msg or message) and attributes (every other field,
// nested objects as maps); anything else is the body, as a string. uid
// names the line. The record's strings are parts of line, not copies.
func (p *scanner) record(line, uid string, observed pcommon.Timestamp, lr plog.LogRecord) {
	// An object as the writer decides it (JSON, valid UTF-8), so that
	// every line the writer wrote is one.
	obj := strings.Trim(line, " \t\r\n") // JSON's whitespace
	if len(obj) >= 2 && obj[0] == '{' && obj[len(obj)-1] == '}' {
		p.s, p.i, p.depth = obj, 0, 0
		if !p.fields(lr) {
			// Not JSON after all: start the record over.
			plog.NewLogRecord().MoveTo(lr)
			lr.Body().SetStr(line)
		}
	} else {
		lr.Body().SetStr(line)
	}
	lr.SetObservedTimestamp(observed)
	lr.Attributes().PutStr(AttrUID, uid)
}

// fields reads the top-level object in p.s into lr; false if p.s is not
// one JSON object.
func (p *scanner) fields(lr plog.LogRecord) bool {
	attrs := lr.Attributes()
	// Room for as many attributes as the last record had, and the uid:
	// the records of one log tend to look alike.
	attrs.EnsureCapacity(p.attrs + 1)
	var level string
	if !p.members(func(key string) bool { return p.field(lr, attrs, key, &level) }) {
		return false
	}
	if p.ws(); p.i != len(p.s) {
		return false // something after the object
	}
	p.attrs = attrs.Len()
	if level != "" {
		lr.SetSeverityText(level)
		lr.SetSeverityNumber(severity(level))
	}
	return true
}

// field reads the value of the top-level field key: the first time
// stamp, the last string level and the first string message go to their
// places in lr, everything else to attrs, where of repeated keys the last
// wins, as in a JSON reader (the writer's own fields come last).
func (p *scanner) field(lr plog.LogRecord, attrs pcommon.Map, key string, level *string) bool {
	c := p.peek()
	switch key {
	case "ts", "time":
		switch {
		case c == '"':
			s, ok := p.str()
			if !ok {
				return false
			}
			if t, ok := timeOfString(s); ok && lr.Timestamp() == 0 {
				lr.SetTimestamp(t)
				return true
			}
			attrs.PutStr(key, s)
			return true
		case c == '-' || '0' <= c && c <= '9':
			raw, integer, ok := p.number()
			if !ok {
				return false
			}
			if t, ok := timeOfNumber(raw, integer); ok && lr.Timestamp() == 0 {
				lr.SetTimestamp(t)
				return true
			}
			setNumber(attrs.PutEmpty(key), raw, integer)
			return true
		}
	case "level":
		if c == '"' {
			s, ok := p.str()
			*level = s
			return ok
		}
	case "msg", "message":
		if c == '"' {
			s, ok := p.str()
			if !ok {
				return false
			}
			if lr.Body().Type() == pcommon.ValueTypeEmpty {
				lr.Body().SetStr(s)
			} else {
				attrs.PutStr(key, s)
			}
			return true
		}
	}
	return p.value(attrs.PutEmpty(key))
}

// zapISO8601 is zap's ISO8601TimeEncoder layout.
const zapISO8601 = "2006-01-02T15:04:05.000Z0700"

// timeOfNumber reads a number as a time stamp: seconds since the epoch
// (zap's default encoder; milliseconds, microseconds and nanoseconds are
// told apart by magnitude). integer says raw has neither a fraction nor
// an exponent.
func timeOfNumber(raw string, integer bool) (pcommon.Timestamp, bool) {
	if integer {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil && n > 0 {
			switch {
			case n < 1e11:
				return pcommon.Timestamp(n * 1e9), true
			case n < 1e14:
				return pcommon.Timestamp(n * 1e6), true
			case n < 1e17:
				return pcommon.Timestamp(n * 1e3), true
			}
			return pcommon.Timestamp(n), true
		}
	}
	f, _ := strconv.ParseFloat(raw, 64)
	switch {
	case f <= 0 || math.IsNaN(f) || math.IsInf(f, 0):
		return 0, false
	case f < 1e11: // seconds (until the year 5138)
		sec, frac := math.Modf(f)
		return pcommon.Timestamp(int64(sec)*1e9 + int64(math.Round(frac*1e9))), true
	case f < 1e14:
		return pcommon.Timestamp(f * 1e6), true
	case f < 1e17:
		return pcommon.Timestamp(f * 1e3), true
	case f < math.MaxUint64: // an integer reaches here only if it did not fit an int64
		return pcommon.Timestamp(f), true
	}
	return 0, false // past what a Timestamp holds: converting it would give an arbitrary time
}

// timeOfString reads a string as a time stamp: RFC 3339 or zap's ISO 8601.
func timeOfString(s string) (pcommon.Timestamp, bool) {
	for _, layout := range [...]string{time.RFC3339Nano, zapISO8601} {
		if t, err := time.Parse(layout, s); err == nil {
			return pcommon.NewTimestampFromTime(t), true
		}
	}
	return 0, false
}

// severity maps a level name to an OpenTelemetry severity number: zap's
// levels as the OpenTelemetry zap bridge maps them (dpanic, panic and
// fatal are FATAL, FATAL2 and FATAL3), syslog's names as the writer writes
// them, and the common spellings of the rest.
func severity(level string) plog.SeverityNumber {
	switch strings.ToLower(level) {
	case "trace":
		return plog.SeverityNumberTrace
	case "debug":
		return plog.SeverityNumberDebug
	case "info", "information":
		return plog.SeverityNumberInfo
	case "notice":
		return plog.SeverityNumberInfo2
	case "warn", "warning":
		return plog.SeverityNumberWarn
	case "error", "err":
		return plog.SeverityNumberError
	case "crit", "critical":
		return plog.SeverityNumberError3
	case "dpanic", "alert":
		return plog.SeverityNumberFatal
	case "panic", "emerg", "emergency":
		return plog.SeverityNumberFatal2
	case "fatal":
		return plog.SeverityNumberFatal3
	}
	return plog.SeverityNumberUnspecified
}

// crockford is the alphabet of ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// uidLen is the length of a record uid.
const uidLen = 26

// appendUID appends the 128 bits of (file id, offset) to dst in a ULID's
// spelling: 26 characters of Crockford's base32.
func appendUID(dst []byte, file uint64, offset int64) []byte {
	var b [uidLen]byte
	hi, lo := file, uint64(offset)
	// 128 bits in 26 characters: the first carries the top 3 bits.
	for i := uidLen - 1; i >= 0; i-- {
		b[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return append(dst, b[:]...)
}
