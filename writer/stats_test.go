package writer

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Every field of Stats appears in Fields once, with its own value, so
// that the summary line and the metrics endpoint miss none.
func TestStatsFieldsCoverStats(t *testing.T) {
	var s Stats
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Uint64:
			f.SetUint(uint64(1000 + i))
		case reflect.Int64:
			f.SetInt(int64(1000 + i))
		}
	}
	fields := s.Fields()
	if len(fields) != v.NumField() {
		t.Fatalf("Fields lists %d, Stats has %d", len(fields), v.NumField())
	}
	seen := map[int64]bool{}
	for _, f := range fields {
		if f.Value < 1000 || seen[f.Value] || f.Name == "" || f.Metric == "" || f.Help == "" {
			t.Errorf("field %+v: not one distinct Stats field", f)
		}
		seen[f.Value] = true
	}
	line := s.String()
	if !strings.HasPrefix(line, "records=1000 bytes=1001 writes=1002 clients=1003 ") || strings.Count(line, "=") != v.NumField() {
		t.Errorf("String() = %q", line)
	}
}

// Stats' doc: every field only grows except the two gauges.
func TestStatsGauges(t *testing.T) {
	var gauges []string
	for _, f := range (Stats{}).Fields() {
		if f.Gauge {
			gauges = append(gauges, f.Name)
		}
	}
	if !slices.Equal(gauges, []string{"clients", "frame_buffers"}) {
		t.Errorf("gauges %q, want clients and frame_buffers (ClientsNow, FrameBuffers)", gauges)
	}
}

// halvingOutput takes only the first half of its first Write.
type halvingOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	calls int
}

func (o *halvingOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.calls == 1 {
		p = p[:len(p)/2]
	}
	return o.buf.Write(p)
}

func (o *halvingOutput) Reopen() error { return nil }
func (o *halvingOutput) Close() error  { return nil }

// Stats.Writes counts Write calls that succeeded, a batch's remainder
// after a short write included, not batches.
func TestStatsWritesCountsRemainders(t *testing.T) {
	out := &halvingOutput{}
	s := New(out)
	s.AddLines("stdout", strings.NewReader("one\n"))
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Writes != 2 || st.Records != 1 || st.WriteErrors != 0 {
		t.Errorf("stats %v, want writes=2 records=1 for one record written in two parts", st)
	}
	if got := out.buf.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, `"msg":"one"`) {
		t.Errorf("output %q", got)
	}
}
