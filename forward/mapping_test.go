package forward

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// mapLine maps one line as the forwarder does, for the tests.
func mapLine(line []byte, uid string, observed pcommon.Timestamp, lr plog.LogRecord) {
	var p scanner
	p.record(string(line), uid, observed, lr)
}

// recordUID is the uid appendUID spells, as a string.
func recordUID(file uint64, offset int64) string {
	return string(appendUID(nil, file, offset))
}

func mapped(line string) plog.LogRecord {
	lr := plog.NewLogRecord()
	mapLine([]byte(line), "UID", 42, lr)
	return lr
}

func TestMapZapRecord(t *testing.T) {
	lr := mapped(`{"level":"warn","ts":1700000000.25,"caller":"x.go:1","msg":"hello","n":3,"f":1.5,"ok":true,"nil":null,"o":{"a":[1,"b"]},"peer_pid":7}`)
	if got := lr.Timestamp(); got != pcommon.Timestamp(1700000000250000000) {
		t.Errorf("time %d", got)
	}
	if lr.ObservedTimestamp() != 42 {
		t.Errorf("observed %d", lr.ObservedTimestamp())
	}
	if lr.SeverityText() != "warn" || lr.SeverityNumber() != plog.SeverityNumberWarn {
		t.Errorf("severity %s %v", lr.SeverityText(), lr.SeverityNumber())
	}
	if lr.Body().Str() != "hello" {
		t.Errorf("body %q", lr.Body().AsString())
	}
	want := map[string]any{
		"caller": "x.go:1", "n": int64(3), "f": 1.5, "ok": true, "nil": nil,
		"o": map[string]any{"a": []any{int64(1), "b"}}, "peer_pid": int64(7), AttrUID: "UID",
	}
	got := lr.Attributes().AsRaw()
	if len(got) != len(want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("attribute %s = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestMapTimes(t *testing.T) {
	for _, c := range []struct {
		line string
		want time.Time
	}{
		{`{"ts":1700000000}`, time.Unix(1700000000, 0)},
		{`{"ts":1700000000123}`, time.UnixMilli(1700000000123)},
		{`{"ts":1700000000123456}`, time.UnixMicro(1700000000123456)},
		{`{"ts":1700000000123456789}`, time.Unix(0, 1700000000123456789)},
		{`{"ts":1700000000.25}`, time.Unix(1700000000, 25e7)},
		{`{"ts":1.7e12}`, time.UnixMilli(17e11)},
		{`{"ts":1.7e15}`, time.UnixMicro(17e14)},
		{`{"ts":1.7e18}`, time.Unix(0, 17e17)},
		{`{"time":"2026-11-29T10:00:00.5Z","msg":"x"}`, time.Date(2026, 11, 29, 10, 0, 0, 5e8, time.UTC)},
		{`{"ts":"2026-11-29T10:00:00.500+0100"}`, time.Date(2026, 11, 29, 9, 0, 0, 5e8, time.UTC)},
	} {
		if got := mapped(c.line).Timestamp().AsTime(); !got.Equal(c.want) {
			t.Errorf("%s: time %v, want %v", c.line, got, c.want)
		}
	}
	// Past an int64, within a Timestamp: nanoseconds.
	if got := mapped(`{"ts":10000000000000000000}`).Timestamp(); got != pcommon.Timestamp(1e19) {
		t.Errorf("ts 1e19: %d", got)
	}
	// Not a time: kept as an attribute.
	lr := mapped(`{"ts":"yesterday"}`)
	if lr.Timestamp() != 0 || lr.Attributes().AsRaw()["ts"] != "yesterday" {
		t.Errorf("ts yesterday: %v %v", lr.Timestamp(), lr.Attributes().AsRaw())
	}
	for _, line := range []string{`{"ts":0}`, `{"ts":-5}`, `{"ts":1e400}`, `{"ts":123456789012345678901}`} {
		if lr := mapped(line); lr.Timestamp() != 0 || lr.Attributes().AsRaw()["ts"] == nil {
			t.Errorf("%s: time %v, attributes %v; want no time, ts kept", line, lr.Timestamp(), lr.Attributes().AsRaw())
		}
	}
}

func TestMapNotJSON(t *testing.T) {
	// Not an object as the writer decides it (invalid UTF-8 included,
	// which the writer would have wrapped): the line is the body.
	for _, line := range []string{"plain text", `{"unterminated`, `[1,2]`, ``, "{\"msg\":\"\xff\"}"} {
		lr := mapped(line)
		if lr.Body().Str() != line {
			t.Errorf("%q: body %q", line, lr.Body().AsString())
		}
		if a := lr.Attributes().AsRaw(); len(a) != 1 || a[AttrUID] != "UID" {
			t.Errorf("%q: attributes %v", line, a)
		}
	}
	// JSON whitespace around an object is no matter.
	if lr := mapped(" {\"msg\":\"x\"}\r"); lr.Body().Str() != "x" {
		t.Errorf("object with spaces: body %q", lr.Body().AsString())
	}
}

func TestSeverity(t *testing.T) {
	for level, want := range map[string]plog.SeverityNumber{
		"debug": plog.SeverityNumberDebug, "info": plog.SeverityNumberInfo, "warn": plog.SeverityNumberWarn,
		"error": plog.SeverityNumberError, "dpanic": plog.SeverityNumberFatal, "panic": plog.SeverityNumberFatal2,
		"fatal": plog.SeverityNumberFatal3, "crit": plog.SeverityNumberError3, "notice": plog.SeverityNumberInfo2,
		"INFO": plog.SeverityNumberInfo, "verbose": plog.SeverityNumberUnspecified,
	} {
		if got := severity(level); got != want {
			t.Errorf("%s: %v, want %v", level, got, want)
		}
	}
}

func TestRecordUID(t *testing.T) {
	a, b := recordUID(1, 0), recordUID(1, 1)
	if a == b || len(a) != 26 || recordUID(1, 0) != a || recordUID(2, 0) == a {
		t.Fatalf("uids %s %s", a, b)
	}
	if got := recordUID(0, 31); got != strings.Repeat("0", 25)+"Z" {
		t.Fatalf("uid of 31: %s", got)
	}
	if got := recordUID(^uint64(0), -1); got != "7"+strings.Repeat("Z", 25) {
		t.Fatalf("uid of all ones: %s", got)
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"otlp://collector:4317":        "otlp://collector:4317",
		"otlp://collector":             "otlp://collector:4317",
		"otlps://[::1]:9":              "otlps://[::1]:9",
		"otlp+http://c":                "otlp+http://c:4318",
		"otlp+https://c:443/custom/v1": "otlp+https://c:443/custom/v1",
	} {
		e, err := ParseEndpoint(in)
		if err != nil || e.String() != want {
			t.Errorf("%s: %v %v, want %s", in, e, err, want)
		}
	}
	for in, says := range map[string]string{
		"http://c:4318":        "scheme",
		"otlp://":              "HOST:PORT",
		"otlp://c:0":           "port",
		"otlp://c:4317/v1/x":   "no path",
		"otlp://u:p@c:4317":    "user",
		"otlp+http://c:1?a=b":  "query",
		"otlp:c:4317":          "HOST:PORT",
		"otlp://c:notanumber":  "port",
		"otlp+https://:4318/x": "host",
	} {
		_, err := ParseEndpoint(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want an error saying %q", in, err, says)
		}
	}
}

func TestFromEnvironment(t *testing.T) {
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS":          "api-key=s%20ecret,x=1",
		"OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE": "/ca.pem",
		"OTEL_RESOURCE_ATTRIBUTES":            "service.name=a,deployment.environment=prod",
		"OTEL_SERVICE_NAME":                   "b",
	}
	c := Config{Resource: map[string]string{"deployment.environment": "test"}}
	if err := c.FromEnvironment(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Headers["api-key"] != "s ecret" || c.Headers["x"] != "1" || c.TLS.CAFile != "/ca.pem" {
		t.Errorf("headers %v, tls %+v", c.Headers, c.TLS)
	}
	if c.Resource["service.name"] != "b" || c.Resource["deployment.environment"] != "test" {
		t.Errorf("resource %v", c.Resource)
	}
	// A flag wins over its variable; the client certificate and key go
	// together, each from its logs variable or the general one.
	env["OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"] = "/logs.crt"
	env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = "/general.key"
	c = Config{Headers: map[string]string{"api-key": "flag"}, TLS: TLSConfig{CAFile: "/flag-ca.pem"}}
	if err := c.FromEnvironment(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if len(c.Headers) != 1 || c.Headers["api-key"] != "flag" || c.TLS.CAFile != "/flag-ca.pem" ||
		c.TLS.CertFile != "/logs.crt" || c.TLS.KeyFile != "/general.key" {
		t.Errorf("flags and environment: headers %v, tls %+v", c.Headers, c.TLS)
	}
	bad := Config{}
	if err := bad.FromEnvironment(func(k string) string { return map[string]string{EnvResource: "novalue"}[k] }); err == nil {
		t.Error("no error for a bad OTEL_RESOURCE_ATTRIBUTES")
	}
}
