package jsonline

import (
	"bytes"
	"encoding/json"
	"testing"
)

// keysOf returns the top-level keys of the object obj, decoded, as
// encoding/json reads them.
func keysOf(t *testing.T, obj []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q: %v %v", obj, tok, err)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// FuzzKeys holds nextKey and keyIs to encoding/json: the same top-level
// keys, and a key matches a name exactly when encoding/json decodes it to
// that name.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":{"c":[1,{"d":"}"}]},"e":"x\"y","f":null}`,
		`{ "peer_uid" : 0 , "\u0070eer_pid":[ ] }`,
		"{\n\t\"stream\":\n\"x\"\n}",
		`{"a\\":"\\","\"":true,"\/":-1.5e3,"\ud83d\ude00":{}}`,
		`{}`,
		`{"peer_uid":1,"peer_uid":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		obj := trimJSONSpace(in)
		if !IsObject(obj) {
			return
		}
		want := keysOf(t, obj)
		var got [][]byte
		for key, i, ok := nextKey(obj, 1); ok; key, i, ok = nextKey(obj, i) {
			got = append(got, key)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: keys %q, encoding/json reads %q", obj, got, want)
		}
		for i, raw := range got {
			var dec string
			if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &dec); err != nil || dec != want[i] {
				t.Fatalf("%q: key %d is %q, encoding/json reads %q", obj, i, raw, want[i])
			}
			for _, name := range append(ownedFields[:], want[i]) {
				if keyIs(raw, name) != (want[i] == name) && isASCII(name) {
					t.Fatalf("%q: keyIs(%q, %q) = %v", obj, raw, name, !(want[i] == name))
				}
			}
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestKeyIs(t *testing.T) {
	cases := []struct {
		key, name string
		want      bool
	}{
		{`peer_uid`, "peer_uid", true},
		{`\u0070eer_uid`, "peer_uid", true},
		{`peer\u005Fuid`, "peer_uid", true},
		{`peer_ui`, "peer_uid", false},
		{`peer_uidx`, "peer_uid", false},
		{`peer_ui\`, "peer_uid", false},
		{`peer_ui\u006`, "peer_uid", false},
		{`\u00f0eer_uid`, "peer_uid", false},
		{`a\"b`, `a"b`, true},
		{`a\/b\\`, `a/b\`, true},
		{`\b\f\n\r\t`, "\b\f\n\r\t", true},
	}
	for _, tc := range cases {
		if got := keyIs([]byte(tc.key), tc.name); got != tc.want {
			t.Errorf("keyIs(%q, %q) = %v", tc.key, tc.name, got)
		}
	}
}

// TestHasFields: only top-level keys count, spelled plainly or with
// escapes; a name inside a value or a nested object does not.
func TestHasFields(t *testing.T) {
	names := []string{"time", "level", "host", "sd"}
	for _, c := range []struct {
		obj  string
		want uint64
	}{
		{`{}`, 0},
		{`{"msg":"time","a":{"level":1},"b":["host"]}`, 0},
		{`{"time":1,"sd":null}`, 1 | 8},
		{`{ "\u006cevel" : "x" , "host":{"time":2}}`, 2 | 4},
		{`{"timestamp":1,"lev":2}`, 0},
	} {
		if got := HasFields([]byte(c.obj), names); got != c.want {
			t.Errorf("HasFields(%s) = %b, want %b", c.obj, got, c.want)
		}
	}
}
