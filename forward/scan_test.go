package forward

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The mapping as it was first written, on gjson: the reference the
// one-pass scanner is held to (FuzzMapLine).

func gjsonMapLine(line []byte, uid string, observed pcommon.Timestamp, lr plog.LogRecord) {
	lr.SetObservedTimestamp(observed)
	attrs := lr.Attributes()
	// An object as the writer decides it, so that every line the writer
	// wrote is one.
	obj := bytes.Trim(line, " \t\r\n")
	if !oracleIsObject(obj, gjson.ValidBytes) {
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
			if t, ok := gjsonTimeOf(v); ok && lr.Timestamp() == 0 {
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
		gjsonPutValue(attrs.PutEmpty(key), v)
		return true
	})
	if level != "" {
		lr.SetSeverityText(level)
		lr.SetSeverityNumber(severity(level))
	}
	attrs.PutStr(AttrUID, uid)
}

// gjsonPutValue stores a JSON value as an attribute value: strings, booleans,
// integers as int64, other numbers as double, arrays as slices, objects as
// maps, null as an empty value.
func gjsonPutValue(dst pcommon.Value, v gjson.Result) {
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
				gjsonPutValue(s.AppendEmpty(), e)
				return true
			})
			return
		}
		m := dst.SetEmptyMap()
		v.ForEach(func(k, e gjson.Result) bool {
			gjsonPutValue(m.PutEmpty(k.Str), e)
			return true
		})
	}
}

// gjsonTimeOf reads a time stamp: a number is seconds since the epoch (zap's
// default encoder; milliseconds, microseconds and nanoseconds are told
// apart by magnitude), a string is RFC 3339 or zap's ISO 8601.
func gjsonTimeOf(v gjson.Result) (pcommon.Timestamp, bool) {
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
		case f >= math.MaxUint64: // more nanoseconds than a Timestamp holds: not a time
			return 0, false
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

// isObjectLine is the verdict on a line of encoding/json: one object, in
// valid UTF-8, JSON whitespace around it allowed.
func isObjectLine(line []byte) bool {
	return oracleIsObject(bytes.Trim(line, " \t\r\n"), json.Valid)
}

// oracleIsObject reports whether b, with no surrounding whitespace, is one
// JSON object in valid UTF-8 by valid: the writer's rule, built on
// validators of other projects' making.
func oracleIsObject(b []byte, valid func([]byte) bool) bool {
	return len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' && utf8.Valid(b) && valid(b)
}

// mappedAsObject tells from a mapped record whether its line was taken
// for an object: a line that was not is the body, whole, with the uid as
// its only attribute (an object's message can never be the whole line).
func mappedAsObject(line []byte, lr plog.LogRecord) bool {
	return lr.Body().Type() != pcommon.ValueTypeStr || lr.Body().Str() != string(line) || lr.Attributes().Len() != 1
}

var mapSeeds = []string{
	`{"level":"warn","ts":1700000000.25,"caller":"x.go:1","msg":"hello","n":3,"f":1.5,"ok":true,"nil":null,"o":{"a":[1,"b"]},"peer_pid":7}`,
	`{"ts":1700000000}`, `{"ts":1700000000123}`, `{"ts":-5}`, `{"ts":0}`, `{"ts":1e400}`, `{"ts":123456789012345678901}`,
	`{"ts":1.7e16}`, `{"ts":1.7e18}`, `{"ts":-0}`, `{"ts":true,"time":"2026-11-29T10:00:00.5Z"}`,
	`{"time":"2026-11-29T10:00:00.5Z","msg":"x"}`, `{"ts":"2026-11-29T10:00:00.500+0100"}`, `{"ts":"yesterday"}`,
	`{"ts":1,"ts":2,"time":3}`, `{"msg":"a","msg":"b","message":"c"}`, `{"msg":1,"message":"m"}`,
	`{"level":"info","level":"error"}`, `{"level":3}`, `{"level":""}`,
	`{"a":{"b":{"a":1,"a":2}},"a":[[],{},""]}`, `{"k":"a\u00e9\"b\\\/\b\f\n\r\t","\u0074s":1700000000}`,
	`{"s":"\ud83d\ude00","t":"\ud800x","u":"\udc00\ud800"}`, `{"e":"\u00"}`, `{"e":"\x"}`,
	`{"n":[0,-0,1.5e3,-2E-2,9223372036854775807,9223372036854775808,-9223372036854775809]}`,
	`{"n":01}`, `{"n":1.}`, `{"n":.5}`, `{"n":-}`, `{"n":1e}`, `{"n":+1}`, `{"t":tru}`, `{"t":nul}`,
	`{}`, ` { } `, `{"a":1}{"b":2}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1 "b":2}`, `{"a":[1,]}`, `{"a":[1 2]}`,
	"{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"\xff\":1}", "{\"a\":\"é\"}", `{"a":"x`, `{"a`,
	"{\"long\":\"0123456789abcdefghij\x01\"}", "{\"long\":\"0123456789abcdefghij\xff\"}", "{\"long\":\"0123456789abcdefghijé\"}",
	"{\"long\":\"0123456789abcdefghij\\n\"}", "{\"0123456789abcdefghij\":\"0123456789abcdef\"}",
	`plain text`, `[1,2]`, ``, `{`, `}`, `{"`, `"{}"`, "{\"a\":1}\r", "\t{\"a\":\r\n1}",
	`{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
}

// FuzzMapLine holds the one-pass mapping to the writer's verdict (a line
// is an object exactly when encoding/json says so) and, on objects, to
// the gjson mapping it replaced: the same time, severity, body and
// attributes. Escaped surrogates are left out of the second comparison:
// gjson reads \ud800\u0041 as one character, encoding/json (and the
// scanner) as U+FFFD and "A".
func FuzzMapLine(f *testing.F) {
	for _, s := range mapSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		lr := plog.NewLogRecord()
		mapLine(line, "UID", 42, lr)
		obj := isObjectLine(line)
		if got := mappedAsObject(line, lr); got != obj {
			t.Fatalf("%q: mapped as an object: %v, encoding/json says %v", line, got, obj)
		}
		if lr.ObservedTimestamp() != 42 || lr.Attributes().AsRaw()[AttrUID] != "UID" {
			t.Fatalf("%q: observed %d, attributes %v", line, lr.ObservedTimestamp(), lr.Attributes().AsRaw())
		}
		if !obj || bytes.Contains(bytes.ToLower(line), []byte(`\ud`)) {
			return
		}
		want := plog.NewLogRecord()
		gjsonMapLine(line, "UID", 42, want)
		if lr.Timestamp() != want.Timestamp() || lr.SeverityText() != want.SeverityText() || lr.SeverityNumber() != want.SeverityNumber() {
			t.Fatalf("%q: time %d severity %q %v, gjson %d %q %v", line, lr.Timestamp(), lr.SeverityText(), lr.SeverityNumber(),
				want.Timestamp(), want.SeverityText(), want.SeverityNumber())
		}
		if !reflect.DeepEqual(lr.Body().AsRaw(), want.Body().AsRaw()) {
			t.Fatalf("%q: body %#v, gjson %#v", line, lr.Body().AsRaw(), want.Body().AsRaw())
		}
		if got, w := lr.Attributes().AsRaw(), want.Attributes().AsRaw(); !reflect.DeepEqual(got, w) || !sameKeyOrder(lr.Attributes(), want.Attributes()) {
			t.Fatalf("%q: attributes %#v, gjson %#v", line, got, w)
		}
	})
}

// sameKeyOrder reports whether two maps hold their keys in one order.
func sameKeyOrder(a, b pcommon.Map) bool {
	var ka, kb []string
	a.Range(func(k string, _ pcommon.Value) bool { ka = append(ka, k); return true })
	b.Range(func(k string, _ pcommon.Value) bool { kb = append(kb, k); return true })
	return strings.Join(ka, "\x00") == strings.Join(kb, "\x00")
}

// The depth limit is encoding/json's: 10000 levels of nesting are an
// object, 10001 are not.
func TestMapDepth(t *testing.T) {
	for depth, want := range map[int]bool{9999: true, 10000: false} {
		line := []byte(`{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
		if got := mappedAsObject(line, mapped(string(line))); got != want || json.Valid(line) != want {
			t.Errorf("%d nested arrays in an object: mapped as an object %v, encoding/json %v, want %v", depth, got, json.Valid(line), want)
		}
	}
}

// A line that turns out not to be JSON after fields were stored leaves
// nothing of them behind.
func TestMapHalfObject(t *testing.T) {
	line := `{"level":"info","ts":1700000000,"msg":"m","a":1,"b":{"c":2},"d":x}`
	lr := mapped(line)
	if lr.Body().Str() != line || lr.Timestamp() != 0 || lr.SeverityText() != "" || lr.SeverityNumber() != 0 {
		t.Fatalf("body %q time %d severity %q", lr.Body().AsString(), lr.Timestamp(), lr.SeverityText())
	}
	if a := lr.Attributes().AsRaw(); len(a) != 1 || a[AttrUID] != "UID" {
		t.Fatalf("attributes %v", a)
	}
}

// Escapes decode as encoding/json decodes them, surrogates included.
func TestMapEscapes(t *testing.T) {
	line := `{"s":"a\u00e9\"\\\/\b\f\n\r\t\ud83d\ude00","lone":"\ud800x","swapped":"\udc00\ud800","pair_then":"\ud800\u0041","k\u0065y":1}`
	var want map[string]any
	if err := json.Unmarshal([]byte(line), &want); err != nil {
		t.Fatal(err)
	}
	got := mapped(line).Attributes().AsRaw()
	for k, v := range want {
		if n, ok := v.(float64); ok {
			v = int64(n)
		}
		if got[k] != v {
			t.Errorf("%s: %q, encoding/json %q", k, got[k], v)
		}
	}
}
