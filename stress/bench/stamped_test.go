//go:build linux

package bench

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// TestStampedOutput writes through the socket the sidecar would get and
// checks that every line comes out once, a line split across two writes
// whole, each timed by the write that ended it.
func TestStampedOutput(t *testing.T) {
	so, err := newStampedOutput()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	type timed struct {
		line string
		at   int64
	}
	var got []timed
	done := make(chan error, 1)
	go func() {
		done <- so.read(&out, func(l []byte, at int64) { got = append(got, timed{string(l), at}) })
	}()
	writes := []string{"a\nb\n", "c", "c\nd\n"}
	var before, after []int64
	for _, w := range writes {
		before = append(before, time.Now().UnixNano())
		if _, err := so.W.Write([]byte(w)); err != nil {
			t.Fatal(err)
		}
		after = append(after, time.Now().UnixNano())
	}
	so.W.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line  string
		write int
	}{{"a", 0}, {"b", 0}, {"cc", 2}, {"d", 2}}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.line != w.line {
			t.Errorf("line %d is %q, want %q", i, g.line, w.line)
		}
		if g.at < before[w.write] || g.at > after[w.write] {
			t.Errorf("line %q timed at %d, outside its write (%d..%d)", g.line, g.at, before[w.write], after[w.write])
		}
	}
	if out.String() != "a\nb\ncc\nd\n" {
		t.Errorf("copied %q", out.String())
	}
}

// TestLatencySmoke runs the latency measurement on a tiny paced workload
// and checks that every record came out whole and was timed. It asserts
// nothing about how long anything took.
func TestLatencySmoke(t *testing.T) {
	dir := t.TempDir()
	bin, err := BuildSidecar(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := MeasureLatency(Config{Dir: dir, Sidecar: bin}, 2, 200, 4000, 250*time.Millisecond)
	if l.Err != nil {
		t.Fatal(l.Err)
	}
	if l.Missing != 0 || l.Torn != 0 {
		t.Errorf("missing %d, torn %d", l.Missing, l.Torn)
	}
	if l.Records == 0 || l.Timed != l.Records {
		t.Errorf("%d records timed of %d", l.Timed, l.Records)
	}
	if !slices.IsSorted([]time.Duration{0, l.P50, l.P99, l.Max}) {
		t.Errorf("p50 %v, p99 %v, max %v out of order", l.P50, l.P99, l.Max)
	}
}
