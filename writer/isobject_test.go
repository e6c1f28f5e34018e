package writer

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzIsObject holds the fast validator to encoding/json's verdict: a
// record it accepts is written as it came, so it must be JSON.
func FuzzIsObject(f *testing.F) {
	f.Add([]byte(`{"level":"info","msg":"a\u00e9\"b","n":[1,-2.5e3,true,null,{}]}`))
	f.Add([]byte(`{"a":"x` + "\t" + `y"}`))
	f.Add([]byte(`{"a":1}{"b":2}`))
	f.Add([]byte(`{"a":01}`))
	f.Add([]byte(`{"a":"\ud800"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		in = bytes.TrimSpace(in)
		want := len(in) > 0 && in[0] == '{' && utf8.Valid(in) && json.Valid(in)
		if got := isObject(in); got != want {
			t.Fatalf("isObject(%q) = %v, encoding/json says %v", in, got, want)
		}
	})
}
