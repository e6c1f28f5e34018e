package writer

import (
	"reflect"
	"strings"
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
