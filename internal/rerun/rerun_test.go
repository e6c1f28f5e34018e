package rerun

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestStartDuringRun: requests made while a run is under way give exactly
// one more run, never an overlapping one, and Wait returns the first error.
func TestStartDuringRun(t *testing.T) {
	var r Runner
	var runs, inside atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	first := errors.New("first")
	job := func() error {
		if inside.Add(1) != 1 {
			t.Error("two runs overlap")
		}
		defer inside.Add(-1)
		if runs.Add(1) == 1 {
			close(entered)
			<-release
			return first
		}
		return errors.New("later")
	}
	r.Start(job)
	<-entered
	r.Start(job) // both during the first run: one more run
	r.Start(job)
	close(release)
	if err := r.Wait(); err != first {
		t.Errorf("Wait = %v, want the first error", err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
	r.Start(job) // idle again: a new run
	r.Wait()
	if n := runs.Load(); n != 3 {
		t.Errorf("%d runs after a Start on an idle Runner, want 3", n)
	}
}
