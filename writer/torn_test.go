package writer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepairTornTail: a file left by a writer killed in the middle of a
// batch loses the unfinished line, and the next record starts a line of
// its own; whole files and lines longer than any batch are left alone.
func TestRepairTornTail(t *testing.T) {
	long := strings.Repeat("x", tornTailLimit+10)
	cases := []struct {
		name, in, want string
	}{
		{"torn batch", "{\"a\":1}\n{\"b\":2}\n{\"c\":", "{\"a\":1}\n{\"b\":2}\n"},
		{"whole", "{\"a\":1}\n", "{\"a\":1}\n"},
		{"empty", "", ""},
		{"only a fragment", "{\"c\":", ""},
		{"not ours", "{\"a\":1}\n" + long, "{\"a\":1}\n" + long},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			if err := os.WriteFile(path, []byte(tc.in), 0o600); err != nil {
				t.Fatal(err)
			}
			o, err := NewFileOutput(FileConfig{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			if o.TornTail() != int64(len(tc.in)-len(tc.want)) {
				t.Errorf("TornTail = %d, want %d", o.TornTail(), len(tc.in)-len(tc.want))
			}
			if _, err := o.Write([]byte("{\"next\":1}\n")); err != nil {
				t.Fatal(err)
			}
			o.Close()
			got, _ := os.ReadFile(path)
			if string(got) != tc.want+"{\"next\":1}\n" {
				t.Errorf("file %.60q…, want %.60q… then the next record", got, tc.want)
			}
		})
	}
}
