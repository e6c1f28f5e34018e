package wire

import (
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	good := map[string]Addr{
		"unix:///run/app.sock":   {Transport: Stream, Path: "/run/app.sock"},
		"unix://rel.sock":        {Transport: Stream, Path: "rel.sock"},
		"unixgram:///tmp/d.sock": {Transport: Datagram, Path: "/tmp/d.sock"},
		"fd:3":                   {Transport: Pipe, FD: 3},
	}
	for in, want := range good {
		got, err := ParseAddr(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseAddr(%q) = %+v, %v (String %q); want %+v", in, got, err, got.String(), want)
		}
	}
	bad := map[string]string{
		"/run/app.sock":   "no scheme",
		"tcp://x:1":       `unknown scheme "tcp"`,
		"unix://":         "want unix://PATH",
		"unix:/run/x":     "want unix://PATH",
		"unixgram://":     "want unixgram://PATH",
		"fd:three":        "want fd:N",
		"fd:-1":           "want fd:N",
		"":                "no scheme",
		"LOGFANIN_ADDR=x": "no scheme",
	}
	for in, want := range bad {
		if _, err := ParseAddr(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAddr(%q) error %v, want it to say %q", in, err, want)
		}
	}
}
