package stress

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
)

// watch prints a progress line every cfg.Progress until stopped.
func (rd *round) watch(ctx context.Context) (stop func()) {
	if rd.cfg.Log == nil || rd.cfg.Progress < 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(rd.cfg.Progress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				rd.cfg.logf("%-20s ... %s: %d/%d producers done, %.1f MB of output so far",
					rd.mode.Name, time.Since(start).Round(time.Second), rd.procsDone.Load(), rd.cfg.Procs, float64(outputSize(rd.out))/1e6)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// outputSize is the size of the log file and its backups.
func outputSize(path string) int64 {
	files, _ := logcheck.LogFiles(path)
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
