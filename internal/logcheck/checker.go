package logcheck

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// maxExamples is how many offending lines a Report keeps.
const maxExamples = 10

// exampleLen is how many bytes of an offending line an example quotes.
const exampleLen = 200

// recordStart is how every record made by Make begins. Found inside a
// broken line after offset 0, it means another record was written into the
// middle of this one.
var recordStart = []byte(`{"p":`)

// escapedRecordStart is the start of a record inside a JSON string: how a
// torn record looks once a writer has wrapped it as text.
var escapedRecordStart = []byte(`\"p\":`)

// Report is the outcome of checking log output against what the producers
// wrote. Each broken line counts once, as Interleaved if it contains the
// start of another record and as Torn otherwise.
type Report struct {
	Expected    int // records the producers wrote
	Found       int // distinct expected records found intact
	Missing     int // expected records not found intact
	Duplicated  int // extra copies of records already found
	Torn        int // lines that are not valid JSON or fail the length or checksum check
	Interleaved int // broken lines that contain the start of another record
	Reordered   int // records whose seq is lower than one already seen from the same producer
	Unexpected  int // intact records from an unknown producer or with seq out of range
	Lines       int // lines read, including empty ones
	Other       int // JSON objects that are not test records (a command's own output); ignored

	// Examples holds the first few offending lines, each truncated to
	// about 200 bytes and prefixed with what is wrong and where.
	Examples []string
}

// OK reports whether every expected record was found exactly once, intact
// and in order, and nothing else was found.
func (r Report) OK() bool {
	return r.Missing == 0 && r.Duplicated == 0 && r.Torn == 0 &&
		r.Interleaved == 0 && r.Reordered == 0 && r.Unexpected == 0 &&
		r.Found == r.Expected
}

// String returns a one-line summary.
func (r Report) String() string {
	status := "OK"
	if !r.OK() {
		status = "FAIL"
	}
	return fmt.Sprintf("%s: expected=%d found=%d missing=%d duplicated=%d torn=%d interleaved=%d reordered=%d unexpected=%d lines=%d other=%d",
		status, r.Expected, r.Found, r.Missing, r.Duplicated, r.Torn,
		r.Interleaved, r.Reordered, r.Unexpected, r.Lines, r.Other)
}

// Checker verifies log output against the records producers wrote with
// Make. Feed it every output file, oldest first, with Scan or ScanFile,
// then call Report. A Checker is not safe for concurrent use.
type Checker struct {
	expect map[int]int
	seen   map[int][]bool // producer -> seq -> found
	last   map[int]int    // producer -> highest seq seen
	rep    Report
	line   []byte
}

// NewChecker returns a Checker expecting, for each producer id in expect,
// the records with seq 0 to expect[id]-1.
func NewChecker(expect map[int]int) *Checker {
	c := &Checker{
		expect: make(map[int]int, len(expect)),
		seen:   make(map[int][]bool, len(expect)),
		last:   make(map[int]int, len(expect)),
	}
	for p, n := range expect {
		c.expect[p] = n
		c.seen[p] = make([]bool, n)
		c.last[p] = -1
		c.rep.Expected += n
	}
	return c
}

// Scan reads newline-terminated lines of any length from r and checks
// each one. A final line without a newline is torn. Scan may be called
// several times; the state carries over, so call it in the order the
// output was written.
func (c *Checker) Scan(r io.Reader) error {
	return c.scan("input", r)
}

// ScanFile scans the file at path, decompressing it first if its name
// ends in ".gz".
func (c *Checker) ScanFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("logcheck: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("logcheck: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return c.scan(path, r)
}

func (c *Checker) scan(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	lineNo := 0
	for {
		c.line = c.line[:0]
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			c.line = append(c.line, chunk...)
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("logcheck: %s: %w", name, err)
		}
		if len(c.line) == 0 {
			return nil
		}
		lineNo++
		c.rep.Lines++
		where := name + ":" + strconv.Itoa(lineNo)
		if err == io.EOF {
			c.broken(where, "no trailing newline", c.line)
			return nil
		}
		c.check(where, c.line[:len(c.line)-1])
	}
}

// record holds the fields of a record; other fields are ignored.
type record struct {
	P, S, N *int64
	C       *string
	B       []byte // nil when absent
}

// jsonRecord is how encoding/json sees a record.
type jsonRecord struct {
	P *int64  `json:"p"`
	S *int64  `json:"s"`
	N *int64  `json:"n"`
	C *string `json:"c"`
	B *string `json:"b"`
}

// parseJSON decodes line with encoding/json. It handles any field order
// and extra fields.
func parseJSON(line []byte) (record, bool) {
	var j jsonRecord
	if err := json.Unmarshal(line, &j); err != nil {
		return record{}, false
	}
	r := record{P: j.P, S: j.S, N: j.N, C: j.C}
	if j.B != nil {
		r.B = []byte(*j.B)
	}
	return r, true
}

// parseFast decodes a line laid out exactly as Make writes it, without a
// JSON decoder: checking gigabytes of output through encoding/json is too
// slow for the stress suite. It only accepts bodies without quote or
// backslash; anything else goes to parseJSON. A record it accepts with a
// matching checksum is byte for byte what Make wrote, hence valid JSON.
func parseFast(line []byte) (record, bool) {
	rest, ok := bytes.CutPrefix(line, recordStart)
	var p, s, n int64
	var c string
	if !ok {
		return record{}, false
	}
	if p, rest, ok = cutInt(rest, `,"s":`); !ok {
		return record{}, false
	}
	if s, rest, ok = cutInt(rest, `,"n":`); !ok {
		return record{}, false
	}
	if n, rest, ok = cutInt(rest, `,"c":"`); !ok {
		return record{}, false
	}
	if len(rest) < 8 || !bytes.HasPrefix(rest[8:], []byte(`","b":"`)) {
		return record{}, false
	}
	c = string(rest[:8])
	body, ok := bytes.CutSuffix(rest[8+len(`","b":"`):], []byte(`"}`))
	if !ok || bytes.IndexByte(body, '"') >= 0 || bytes.IndexByte(body, '\\') >= 0 {
		return record{}, false
	}
	return record{&p, &s, &n, &c, body}, true
}

// cutInt parses a decimal integer at the start of b that is followed by
// sep, and returns it and what follows sep.
func cutInt(b []byte, sep string) (int64, []byte, bool) {
	i := bytes.Index(b, []byte(sep))
	if i <= 0 || i > 20 {
		return 0, nil, false
	}
	v, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	return v, b[i+len(sep):], true
}

func (c *Checker) check(where string, line []byte) {
	if len(line) == 0 {
		c.broken(where, "empty line", line)
		return
	}
	rec, ok := parseFast(line)
	if !ok {
		rec, ok = parseJSON(line)
	}
	if !ok {
		c.broken(where, "not a JSON object", line)
		return
	}
	if rec.P == nil && rec.S == nil && rec.N == nil && rec.C == nil && rec.B == nil &&
		!bytes.Contains(line, escapedRecordStart) {
		// Not a test record, and not one wrapped as text either.
		c.rep.Other++
		return
	}
	if rec.P == nil || rec.S == nil || rec.N == nil || rec.C == nil || rec.B == nil {
		c.broken(where, "missing field", line)
		return
	}
	if want := canonicalLen(*rec.P, *rec.S, *rec.N, len(rec.B)); int64(want) != *rec.N {
		c.broken(where, fmt.Sprintf("length %d, record says %d", want, *rec.N), line)
		return
	}
	if sum := fmt.Sprintf("%08x", crc32.ChecksumIEEE(rec.B)); sum != *rec.C {
		c.broken(where, "checksum "+sum+", record says "+*rec.C, line)
		return
	}
	p, s := int(*rec.P), int(*rec.S)
	n, known := c.expect[p]
	if !known || s < 0 || s >= n {
		c.rep.Unexpected++
		c.example(where, fmt.Sprintf("unexpected p=%d s=%d", p, s), line)
		return
	}
	if c.seen[p][s] {
		c.rep.Duplicated++
		c.example(where, fmt.Sprintf("duplicate p=%d s=%d", p, s), line)
		return
	}
	c.seen[p][s] = true
	c.rep.Found++
	if s < c.last[p] {
		c.rep.Reordered++
		c.example(where, fmt.Sprintf("reordered p=%d s=%d after s=%d", p, s, c.last[p]), line)
		return
	}
	c.last[p] = s
}

// broken counts a line that is not an intact record.
func (c *Checker) broken(where, why string, line []byte) {
	if i := bytes.Index(line[min(1, len(line)):], recordStart); i >= 0 {
		c.rep.Interleaved++
		c.example(where, fmt.Sprintf("interleaved (%s; another record starts at offset %d)", why, i+1), line)
		return
	}
	c.rep.Torn++
	c.example(where, "torn ("+why+")", line)
}

func (c *Checker) example(where, what string, line []byte) {
	if len(c.rep.Examples) >= maxExamples {
		return
	}
	q := line
	suffix := ""
	if len(q) > exampleLen {
		q = q[:exampleLen]
		suffix = fmt.Sprintf("... (%d bytes)", len(line))
	}
	c.rep.Examples = append(c.rep.Examples, fmt.Sprintf("%s: %s: %q%s", where, what, q, suffix))
}

// Report returns the counts so far. Records not yet found count as
// Missing.
func (c *Checker) Report() Report {
	r := c.rep
	r.Missing = r.Expected - r.Found
	r.Examples = append([]string(nil), c.rep.Examples...)
	if r.Missing > 0 && len(r.Examples) < maxExamples {
		r.Examples = append(r.Examples, "missing: "+c.missingSummary(5))
	}
	return r
}

// missingSummary names up to max missing records.
func (c *Checker) missingSummary(max int) string {
	ps := make([]int, 0, len(c.seen))
	for p := range c.seen {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	var b strings.Builder
	n := 0
	for _, p := range ps {
		for s, ok := range c.seen[p] {
			if ok {
				continue
			}
			if n == max {
				b.WriteString(" ...")
				return b.String()
			}
			if n > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "p=%d s=%d", p, s)
			n++
		}
	}
	return b.String()
}

// CheckFiles scans every file in order with a new Checker expecting
// expect, and returns its Report.
func CheckFiles(expect map[int]int, paths ...string) (Report, error) {
	c := NewChecker(expect)
	var errs []error
	for _, p := range paths {
		if err := c.ScanFile(p); err != nil {
			errs = append(errs, err)
		}
	}
	return c.Report(), errors.Join(errs...)
}
