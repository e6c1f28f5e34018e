package logcheck

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 1))
}

func TestMakeExactSize(t *testing.T) {
	rng := newRand(1)
	sizes := append([]int{0, 1, MinSize - 1, MinSize, MinSize + 1, PipeBuf, 3 << 20}, Sizes(7, 80, 1<<20)...)
	for _, size := range sizes {
		for _, ps := range [][2]int{{0, 0}, {7, 123456}, {math.MinInt, math.MaxInt}} {
			rec := Make(nil, ps[0], ps[1], size, rng)
			want := max(size, MinSize)
			if len(rec) != want {
				t.Fatalf("Make(size=%d, p=%d, s=%d) len = %d, want %d", size, ps[0], ps[1], len(rec), want)
			}
			if rec[len(rec)-1] != '\n' || bytes.IndexByte(rec[:len(rec)-1], '\n') >= 0 {
				t.Fatalf("record is not one line: %q", rec[:min(len(rec), 100)])
			}
			if size > 1<<16 {
				continue // checked below; JSON decoding is slow under -race
			}
			// Re-encoding the body must not change its size.
			var v struct{ B string }
			if err := json.Unmarshal(rec, &v); err != nil {
				t.Fatal(err)
			}
			enc, _ := json.Marshal(v.B)
			if len(enc) != len(v.B)+2 {
				t.Fatalf("body needs escaping")
			}
		}
	}
}

func TestBodyAlphabet(t *testing.T) {
	enc, _ := json.Marshal(bodyAlphabet)
	if len(enc) != len(bodyAlphabet)+2 || len(bodyAlphabet) != 64 {
		t.Fatalf("alphabet %q needs escaping or is not 64 long", bodyAlphabet)
	}
	rec := Make(nil, 1, 1, 1<<20, newRand(9))
	body := rec[bytes.Index(rec, []byte(`"b":"`))+5 : len(rec)-3]
	for _, c := range body {
		if !strings.ContainsRune(bodyAlphabet, rune(c)) {
			t.Fatalf("body byte %q not in alphabet", c)
		}
	}
}

func TestMakeFieldOrder(t *testing.T) {
	rec := Make(nil, 3, 17, 150, newRand(2))
	if !bytes.HasPrefix(rec, []byte(`{"p":3,"s":17,"n":150,"c":"`)) {
		t.Fatalf("record = %s", rec)
	}
	if !bytes.Contains(rec, []byte(`","b":"`)) || !bytes.HasSuffix(rec, []byte("\"}\n")) {
		t.Fatalf("record = %s", rec)
	}
}

func TestMakeAllocs(t *testing.T) {
	rng := newRand(3)
	buf := make([]byte, 0, 1<<20)
	allocs := testing.AllocsPerRun(100, func() {
		buf = Make(buf[:0], 1, 2, 100000, rng)
	})
	if allocs != 0 {
		t.Fatalf("Make allocates %v times per call", allocs)
	}
}

func TestSizes(t *testing.T) {
	const max = 1 << 20
	a, b := Sizes(42, 5000, max), Sizes(42, 5000, max)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("Sizes is not deterministic")
		}
		if a[i] < MinSize || a[i] > max {
			t.Fatalf("size %d out of range", a[i])
		}
	}
	counts := map[int]int{}
	for _, s := range a {
		counts[s]++
	}
	for _, edge := range []int{MinSize, PipeBuf - 1, PipeBuf, PipeBuf + 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, max} {
		if counts[edge] == 0 {
			t.Errorf("edge size %d never drawn", edge)
		}
	}
	small := 0
	for _, s := range a {
		if s <= PipeBuf {
			small++
		}
	}
	if small < len(a)/4 || small > len(a)*3/4 {
		t.Errorf("%d of %d sizes at most PipeBuf; want a mix", small, len(a))
	}
	if got := Sizes(1, 10, 5); got[0] != MinSize {
		t.Errorf("Sizes with max below MinSize = %v", got)
	}
}

// out builds log output from records of producer 1 with the given seqs.
func out(seqs ...int) []byte {
	rng := newRand(4)
	var b []byte
	for _, s := range seqs {
		b = Make(b, 1, s, 120+s*7, rng)
	}
	return b
}

func TestChecker(t *testing.T) {
	rng := newRand(5)
	r0 := Make(nil, 1, 0, 300, rng)
	r1 := Make(nil, 1, 1, 300, rng)
	r2 := Make(nil, 1, 2, 300, rng)
	big := Make(nil, 1, 1, 3<<20, rng) // several MiB in one line
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	corruptBody := bytes.Clone(r1)
	corruptBody[len(corruptBody)-5] ^= 1 // still valid JSON, bad checksum
	corruptCRC := bytes.Replace(bytes.Clone(r1), []byte(`"c":"`), []byte(`"c":"x`), 1)
	corruptCRC = append(corruptCRC[:bytes.Index(corruptCRC, []byte(`","b"`))-1], corruptCRC[bytes.Index(corruptCRC, []byte(`","b"`)):]...)
	shortBody := bytes.Replace(bytes.Clone(r1), []byte(`"b":"`), []byte(`"b":"`), 1)
	shortBody = append(shortBody[:len(shortBody)-4], "\"}\n"...) // drop a body byte: length mismatch
	withExtra := bytes.Replace(bytes.Clone(r1), []byte(`{"p":1,`), []byte(`{"pid":4242,"ts":"2024-01-01T00:00:00Z","p":1,`), 1)
	reorderedFields := []byte(`{"b":` + jsonField(r1, "b") + `,"c":` + jsonField(r1, "c") + `,"n":300,"s":1,"p":1}` + "\n")
	interleaved := cat(r1[:100], r2, r1[100:])

	tests := []struct {
		name   string
		expect map[int]int
		input  []byte
		want   Report
	}{
		{"clean", map[int]int{1: 3}, cat(r0, r1, r2), Report{Expected: 3, Found: 3}},
		{"clean big record", map[int]int{1: 3}, cat(r0, big, r2), Report{Expected: 3, Found: 3}},
		{"extra fields ignored", map[int]int{1: 3}, cat(r0, withExtra, r2), Report{Expected: 3, Found: 3}},
		{"field order not assumed", map[int]int{1: 3}, cat(r0, reorderedFields, r2), Report{Expected: 3, Found: 3}},
		{"empty input", map[int]int{1: 3}, nil, Report{Expected: 3, Missing: 3}},
		{"missing", map[int]int{1: 3}, cat(r0, r2), Report{Expected: 3, Found: 2, Missing: 1}},
		{"duplicate", map[int]int{1: 3}, cat(r0, r1, r1, r2), Report{Expected: 3, Found: 3, Duplicated: 1}},
		{"reordered", map[int]int{1: 3}, cat(r0, r2, r1), Report{Expected: 3, Found: 3, Reordered: 1}},
		{"torn truncated line", map[int]int{1: 3}, cat(r0, r1[:150], []byte("\n"), r2), Report{Expected: 3, Found: 2, Missing: 1, Torn: 1}},
		{"torn no newline at end", map[int]int{1: 3}, cat(r0, r1, r2[:len(r2)-1]), Report{Expected: 3, Found: 2, Missing: 1, Torn: 1}},
		{"torn bad checksum", map[int]int{1: 3}, cat(r0, corruptBody, r2), Report{Expected: 3, Found: 2, Missing: 1, Torn: 1}},
		{"torn checksum field", map[int]int{1: 3}, cat(r0, corruptCRC, r2), Report{Expected: 3, Found: 2, Missing: 1, Torn: 1}},
		{"torn length mismatch", map[int]int{1: 3}, cat(r0, shortBody, r2), Report{Expected: 3, Found: 2, Missing: 1, Torn: 1}},
		{"torn empty line", map[int]int{1: 3}, cat(r0, []byte("\n"), r1, r2), Report{Expected: 3, Found: 3, Torn: 1}},
		{"other JSON is ignored", map[int]int{1: 3}, cat(r0, []byte("{\"msg\":\"hi\"}\n"), r1, r2), Report{Expected: 3, Found: 3, Other: 1}},
		{"torn record wrapped as text", map[int]int{1: 3}, cat(r0, []byte(`{"msg":"{\"p\":1,\"s\":1,\"n\":1"}`+"\n"), r2), Report{Expected: 3, Found: 2, Missing: 1, Torn: 1}},
		{"record missing a field", map[int]int{1: 3}, cat(r0, []byte(`{"p":1,"s":1}`+"\n"), r2), Report{Expected: 3, Found: 2, Missing: 1, Torn: 1}},
		// r2 lands inside r1: one broken line holding the start of r1 and
		// all of r2, then the rest of r1 as a torn line.
		{"interleaved", map[int]int{1: 3}, cat(r0, interleaved), Report{Expected: 3, Found: 1, Missing: 2, Interleaved: 1, Torn: 1}},
		{"unknown producer", map[int]int{1: 3}, cat(r0, r1, r2, Make(nil, 9, 0, 200, rng)), Report{Expected: 3, Found: 3, Unexpected: 1}},
		{"seq out of range", map[int]int{1: 2}, cat(r0, r1, r2), Report{Expected: 2, Found: 2, Unexpected: 1}},
		{"many producers", map[int]int{1: 3, 2: 1}, cat(r0, Make(nil, 2, 0, 200, rng), r1, r2), Report{Expected: 4, Found: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChecker(tt.expect)
			if err := c.Scan(bytes.NewReader(tt.input)); err != nil {
				t.Fatal(err)
			}
			got := c.Report()
			if !sameCounts(got, tt.want) {
				t.Fatalf("got  %v\nwant %v\nexamples:\n%s", got, tt.want, strings.Join(got.Examples, "\n"))
			}
			wantOK := tt.want.Expected == tt.want.Found && sameCounts(tt.want, Report{Expected: tt.want.Expected, Found: tt.want.Found})
			if got.OK() != wantOK {
				t.Fatalf("OK() = %v, want %v (%v)", got.OK(), wantOK, got)
			}
			if !wantOK && len(got.Examples) == 0 {
				t.Fatal("failing report has no examples")
			}
			for _, e := range got.Examples {
				if len(e) > 400 {
					t.Fatalf("example too long: %d bytes", len(e))
				}
			}
		})
	}
}

func jsonField(rec []byte, name string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec, &m); err != nil {
		panic(err)
	}
	return string(m[name])
}

func sameCounts(a, b Report) bool {
	a.Examples, b.Examples = nil, nil
	a.Lines, b.Lines = 0, 0
	return a.Expected == b.Expected && a.Found == b.Found && a.Missing == b.Missing &&
		a.Duplicated == b.Duplicated && a.Torn == b.Torn && a.Interleaved == b.Interleaved &&
		a.Reordered == b.Reordered && a.Unexpected == b.Unexpected
}

func TestReportString(t *testing.T) {
	r := Report{Expected: 3, Found: 2, Missing: 1}
	if s := r.String(); !strings.HasPrefix(s, "FAIL: ") || !strings.Contains(s, "missing=1") {
		t.Fatalf("String() = %q", s)
	}
	if s := (Report{Expected: 1, Found: 1}).String(); !strings.HasPrefix(s, "OK: ") {
		t.Fatalf("String() = %q", s)
	}
}

func TestLogFilesAndGzip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	write := func(name string, data []byte, gz bool) {
		t.Helper()
		if gz {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			data = b.Bytes()
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all := out(0, 1, 2, 3, 4, 5)
	idx := func(s int) int { return bytes.Index(all, []byte(`"s":`+string(rune('0'+s))+`,`)) - len(`{"p":1,`) }
	// Oldest backup compressed, names sort lexically in a different order
	// than the timestamps only by accident of equal prefixes.
	write("app-2024-01-01T00-00-00.000.log.gz", all[:idx(2)], true)
	write("app-2024-01-01T00-00-00.100.log", all[idx(2):idx(4)], false)
	write("app.log", all[idx(4):], false)
	write("app-notatime.log", []byte("garbage\n"), false)
	write("other-2024-01-01T00-00-00.000.log", []byte("garbage\n"), false)
	write("app-2024-01-01T00-00-00.000.txt", []byte("garbage\n"), false)

	files, err := LogFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "app-2024-01-01T00-00-00.000.log.gz"),
		filepath.Join(dir, "app-2024-01-01T00-00-00.100.log"),
		path,
	}
	if strings.Join(files, "|") != strings.Join(want, "|") {
		t.Fatalf("LogFiles = %q, want %q", files, want)
	}
	rep, err := CheckLog(map[int]int{1: 6}, path)
	if err != nil || !rep.OK() {
		t.Fatalf("CheckLog = %v, %v\n%s", rep, err, strings.Join(rep.Examples, "\n"))
	}

	// Scanning newest first shows up as reordering.
	rev := make([]string, len(files))
	for i, f := range files {
		rev[len(files)-1-i] = f
	}
	rep, err = CheckFiles(map[int]int{1: 6}, rev...)
	if err != nil || rep.Reordered == 0 || rep.OK() {
		t.Fatalf("reversed: %v, %v", rep, err)
	}

	// A corrupt gzip file is an error.
	write("app-2024-01-02T00-00-00.000.log.gz", []byte("not gzip"), false)
	if _, err := CheckLog(map[int]int{1: 6}, path); err == nil {
		t.Fatal("no error for corrupt .gz backup")
	}

	if _, err := LogFiles(filepath.Join(dir, "missing", "x.log")); err == nil {
		t.Fatal("no error for missing directory")
	}
}
