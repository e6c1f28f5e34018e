package forward

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// AttrUID is the attribute that names a record uniquely: the same line
// forwarded twice (at least once allows it) carries the same value.
const AttrUID = "log.record.uid"

// mapLine fills lr from one line of the log, without its newline: a JSON
// object gives the time (ts or time), the severity (level), the body (msg
// or message) and attributes (every other field, nested objects as maps);
// anything else is the body, as a string. uid names the line.
func mapLine(line []byte, uid string, observed pcommon.Timestamp, lr plog.LogRecord) {
	lr.SetObservedTimestamp(observed)
	attrs := lr.Attributes()
	// An object as the writer decides it, so that every line the writer
	// wrote is one.
	obj := bytes.Trim(line, " \t\r\n")
	if !jsonline.IsObject(obj) {
		lr.Body().SetStr(string(line))
		attrs.PutStr(AttrUID, uid)
		return
	}
	attrs.EnsureCapacity(8)
	var level string
	gjson.ParseBytes(obj).ForEach(func(k, v gjson.Result) bool {
		key := k.Str
		switch key {
		case "ts", "time":
			if t, ok := timeOf(v); ok && lr.Timestamp() == 0 {
				lr.SetTimestamp(t)
				return true
			}
		case "level":
			if v.Type == gjson.String {
				level = v.Str
				return true
			}
		case "msg", "message":
			if v.Type == gjson.String && lr.Body().Type() == pcommon.ValueTypeEmpty {
				lr.Body().SetStr(v.Str)
				return true
			}
		}
		// Last wins, as in a JSON reader; the writer's own fields come last.
		putValue(attrs.PutEmpty(key), v)
		return true
	})
	if level != "" {
		lr.SetSeverityText(level)
		lr.SetSeverityNumber(severity(level))
	}
	attrs.PutStr(AttrUID, uid)
}

// putValue stores a JSON value as an attribute value: strings, booleans,
// integers as int64, other numbers as double, arrays as slices, objects as
// maps, null as an empty value.
func putValue(dst pcommon.Value, v gjson.Result) {
	switch v.Type {
	case gjson.String:
		dst.SetStr(v.Str)
	case gjson.True:
		dst.SetBool(true)
	case gjson.False:
		dst.SetBool(false)
	case gjson.Number:
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			dst.SetInt(n)
		} else {
			dst.SetDouble(v.Num)
		}
	case gjson.JSON:
		if v.IsArray() {
			s := dst.SetEmptySlice()
			v.ForEach(func(_, e gjson.Result) bool {
				putValue(s.AppendEmpty(), e)
				return true
			})
			return
		}
		m := dst.SetEmptyMap()
		v.ForEach(func(k, e gjson.Result) bool {
			putValue(m.PutEmpty(k.Str), e)
			return true
		})
	}
}

// zapISO8601 is zap's ISO8601TimeEncoder layout.
const zapISO8601 = "2006-01-02T15:04:05.000Z0700"

// timeOf reads a time stamp: a number is seconds since the epoch (zap's
// default encoder; milliseconds, microseconds and nanoseconds are told
// apart by magnitude), a string is RFC 3339 or zap's ISO 8601.
func timeOf(v gjson.Result) (pcommon.Timestamp, bool) {
	switch v.Type {
	case gjson.Number:
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil && n > 0 {
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
		f := v.Num
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
		default:
			if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
				return pcommon.Timestamp(n), true
			}
			return pcommon.Timestamp(f), true
		}
	case gjson.String:
		for _, layout := range []string{time.RFC3339Nano, zapISO8601} {
			if t, err := time.Parse(layout, v.Str); err == nil {
				return pcommon.NewTimestampFromTime(t), true
			}
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

// recordUID returns the 128 bits of (file id, offset) in a ULID's
// spelling: 26 characters of Crockford's base32.
func recordUID(file uint64, offset int64) string {
	var b [26]byte
	hi, lo := file, uint64(offset)
	// 128 bits in 26 characters: the first carries the top 3 bits.
	for i := 25; i >= 0; i-- {
		b[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(b[:])
}
