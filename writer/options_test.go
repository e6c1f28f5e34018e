package writer

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBadOptionsFailLoudly: an option given a value it can't take keeps
// the Server from serving, with an error naming the option, instead of
// being ignored.
func TestBadOptionsFailLoudly(t *testing.T) {
	// One past MaxRecordLimit; on 32-bit platforms it wraps to a negative
	// limit, refused as well.
	limit := int64(MaxRecordLimit)
	overLimit := int(limit + 1)
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"WithMaxRecord", WithMaxRecord(0)},
		{"WithMaxRecord", WithMaxRecord(overLimit)},
		{"WithBatchSize", WithBatchSize(-1)},
		{"WithQueueBytes", WithQueueBytes(0)},
		{"WithIdleTimeout", WithIdleTimeout(-time.Second)},
		{"WithMaxFrameMemory", WithMaxFrameMemory(-5)},
		{"WithMaxRing", WithMaxRing(-1)},
	} {
		s := New(NewStreamOutput(&bytes.Buffer{}), tc.opt)
		err := s.Listen("unix://" + t.TempDir() + "/s.sock")
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: Listen returned %v, want an error naming the option", tc.name, err)
		}
		if err := s.Start(); err == nil {
			t.Errorf("%s: Start returned nil", tc.name)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddPipeEnds(r, w); err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: AddPipeEnds returned %v, want an error naming the option", tc.name, err)
		}
	}
	s := New(NewStreamOutput(&bytes.Buffer{}), WithMaxRing(0), WithBatchSize(1))
	if err := s.Start(); err != nil {
		t.Errorf("good options: %v", err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
}
