package sink

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

func TestDropNotice(t *testing.T) {
	b := appendDropNotice(nil, 42)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["level"] != "warn" || m["dropped"] != 42.0 || m["msg"] != "logfanin: records dropped" || b[len(b)-1] != '\n' {
		t.Errorf("notice %s", b)
	}
}

// TestPipeDrop fills a pipe nobody reads with the Drop policy, then
// reads it: the drop notice reports exactly the records missing.
func TestPipeDrop(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := New("fd:"+strconv.Itoa(int(w.Fd())), WithPolicy(Drop))
	if err != nil {
		t.Fatal(err)
	}
	written := 0
	for s.Stats().Dropped < 5 {
		// One chunk per record, so a record never waits half written.
		if _, err := s.Write(makeRecord(0, written, 1000)); err != nil {
			t.Fatal(err)
		}
		written++
	}
	got := make(chan []string)
	go func() {
		recs, _ := readPipe(t, r)
		got <- recs
	}()
	if _, err := s.Write(makeRecord(0, written, 1000)); err != nil {
		t.Fatal(err)
	}
	written++
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	delivered, reported := 0, uint64(0)
	for _, d := range <-got {
		if n, ok := isDropNotice(d); ok {
			reported += n
			continue
		}
		delivered++
	}
	st := s.Stats()
	if reported != st.Dropped || uint64(written-delivered) != st.Dropped || st.Sent != uint64(delivered) {
		t.Errorf("%d written, %d delivered, %d reported, stats %+v", written, delivered, reported, st)
	}
}
