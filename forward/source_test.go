package forward

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shortReader returns at most n bytes per Read.
type shortReader struct {
	r io.Reader
	n int
}

func (s *shortReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// Lines taken off the front of a source as its buffer is refilled, moved
// to the front and grown come out whole, in order, at their offsets.
func TestSourceWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var data bytes.Buffer
	var lines []string
	for i := range 400 {
		n := rng.IntN(2000)
		if i%50 == 7 {
			n = 300<<10 + rng.IntN(1<<20) // longer than the memory at first
		}
		l := strings.Repeat(string(rune('a'+i%26)), n) + "\n"
		lines = append(lines, l)
		data.WriteString(l)
	}
	for _, chunk := range []int{1 << 20, 70 << 10, 4093} {
		src := &source{r: &shortReader{bytes.NewReader(data.Bytes()), chunk}}
		var off int64
		got := 0
		for got < len(lines) {
			if i := bytes.IndexByte(src.buf, '\n'); i >= 0 && rng.IntN(3) > 0 {
				if src.base != off || string(src.buf[:i+1]) != lines[got] {
					t.Fatalf("chunk %d: line %d at %d: %d bytes, want %d bytes at %d", chunk, got, src.base, i+1, len(lines[got]), off)
				}
				src.consume(i + 1)
				off += int64(len(lines[got]))
				got++
				continue
			}
			before := src.pos()
			if err := src.fill(1 << 20); err != nil {
				t.Fatal(err)
			}
			if src.pos() == before && bytes.IndexByte(src.buf, '\n') < 0 {
				t.Fatalf("chunk %d: no progress at line %d, %d bytes held", chunk, got, len(src.buf))
			}
		}
		if len(src.mem) > 4<<20 {
			t.Errorf("chunk %d: memory grew to %d bytes for lines of at most 1.3 MiB", chunk, len(src.mem))
		}
	}
}

// A backup that is gone is nil, nil (counted as removed); one that is
// there but cannot be opened is an error, so that it is tried again
// rather than counted as lost.
func TestOpenBackupGoneOrUnreadable(t *testing.T) {
	dir := t.TempDir()
	if src, err := openBackup(entry{Backup: filepath.Join(dir, "gone.log")}); src != nil || err != nil {
		t.Fatalf("missing backup: %v, %v; want nil, nil", src, err)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if src, err := openBackup(entry{Backup: filepath.Join(notDir, "app.log")}); src != nil || err == nil {
		t.Fatalf("unopenable backup: %v, %v; want an error", src, err)
	}
	plain := filepath.Join(dir, "app.log")
	if err := os.WriteFile(plain, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := openBackup(entry{Backup: plain})
	if err != nil || src == nil || src.gz {
		t.Fatalf("plain backup: %v, %v", src, err)
	}
	src.close()
}
