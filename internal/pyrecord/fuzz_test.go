package pyrecord

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// FuzzAppendJSON: whatever a client sends, AppendJSON returns an error
// or a JSON object in ASCII, never panics, and leaves dst alone on error.
func FuzzAppendJSON(f *testing.F) {
	f.Add(head().raw('{', '0').b)
	f.Add(head().raw('{').str("s").str("a\"\x01é😀\xed\xa0\x80").str("i").raw('l').u32(3).raw(1, 0, 2, 0, 3, 0).str("f").float(1e300).raw('0').b)
	f.Add(new(enc).tuple(7).float(-1).str("").str("").str("").raw('N', 'N', '{', '0').b)
	f.Fuzz(func(t *testing.T, rec []byte) {
		got, scan, err := AppendJSON([]byte("x"), rec)
		if err != nil {
			if string(got) != "x" {
				t.Fatalf("dst changed on error: %q", got)
			}
			return
		}
		out := got[1:]
		if !json.Valid(out) || !bytes.HasPrefix(out, []byte(`{"ts":`)) {
			t.Fatalf("not a JSON object: %q", out)
		}
		if scan != jsonline.ScanObject(out) {
			t.Fatalf("scan %v, ScanObject %v: %q", scan, jsonline.ScanObject(out), out)
		}
		for _, c := range out {
			if c >= 0x80 {
				t.Fatalf("not ASCII: %q", out)
			}
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	for _, size := range []int{60, 874, 16000} {
		body := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz0123456789-_"), size/38+1)[:size]
		rec := head().raw('{').str("p").int(1).str("s").int(12345).str("n").int(1024).str("c").str("abcdef01").
			str("b").str(string(body)).raw('0').b
		b.Run(byteSize(size), func(b *testing.B) {
			dst := make([]byte, 0, 2*len(rec))
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				var err error
				if dst, _, err = AppendJSON(dst[:0], rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	switch {
	case n < 100:
		return "short"
	case n < 2000:
		return "1KiB"
	}
	return "16KiB"
}
