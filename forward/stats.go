package forward

import (
	"os"
	"time"

	"github.com/logfanin/logfanin/writer"
)

// Stats counts what a Forwarder has done since New. Every field only
// grows except the lags.
type Stats struct {
	Forwarded   uint64 // records the receiver accepted
	Batches     uint64 // exports answered: accepted, partly accepted or rejected
	Retries     uint64 // exports that failed for a retryable reason and were sent again
	Rejected    uint64 // records the receiver rejected (permanently, or in a partial success)
	PrunedFiles uint64 // files removed before they were shipped whole
	PrunedBytes uint64 // bytes of those files never shipped
	LagBytes    int64  // bytes written and not yet accepted
	LagSeconds  int64  // seconds since everything written was last shipped (0 if it is now)
}

// Stats returns the counters now. The lag in bytes adds up the files not
// shipped yet, the live one by its size now.
func (f *Forwarder) Stats() Stats {
	s := Stats{
		Forwarded:   f.forwarded.Load(),
		Batches:     f.batches.Load(),
		Retries:     f.retries.Load(),
		Rejected:    f.rejected.Load(),
		PrunedFiles: f.prunedFiles.Load(),
		PrunedBytes: f.prunedBytes.Load(),
	}
	live, liveErr := os.Stat(f.cfg.Path)
	f.mu.Lock()
	defer f.mu.Unlock()
	seenLive := false
	for i, e := range f.st.Files {
		size := e.Size
		if !e.rotated() {
			size = 0
			if liveErr == nil {
				if dev, ino := identity(live); dev == e.Dev && ino == e.Ino {
					size, seenLive = live.Size(), true
				}
			}
		}
		if i == 0 {
			size -= f.st.Offset
		}
		s.LagBytes += max(size, 0)
	}
	if !seenLive && liveErr == nil && len(f.st.Files) > 0 {
		// The live file is not reached yet: all of it is behind.
		s.LagBytes += live.Size()
	}
	if s.LagBytes > 0 && f.behind {
		s.LagSeconds = int64(time.Since(f.caughtUp) / time.Second)
	}
	return s
}

// Fields lists the counters under the names the sidecar's summary line
// and metrics endpoint use, in writer.Stats.Fields's form.
func (s Stats) Fields() writer.StatFields {
	c := func(name, metric, help string, v uint64) writer.StatField {
		return writer.StatField{Name: name, Metric: metric, Help: help, Value: int64(v)}
	}
	g := func(name, metric, help string, v int64) writer.StatField {
		return writer.StatField{Name: name, Metric: metric, Help: help, Gauge: true, Value: v}
	}
	return writer.StatFields{
		c("forwarded", "forward_records_total", "Records the OTLP receiver accepted.", s.Forwarded),
		c("forward_batches", "forward_batches_total", "Exports answered by the OTLP receiver.", s.Batches),
		c("forward_retries", "forward_retries_total", "Exports retried after a retryable failure.", s.Retries),
		c("forward_rejected", "forward_rejected_total", "Records the OTLP receiver rejected, permanently or in a partial success.", s.Rejected),
		c("forward_pruned_files", "forward_pruned_files_total", "Rotated files removed before they were shipped whole.", s.PrunedFiles),
		c("forward_pruned_bytes", "forward_pruned_bytes_total", "Bytes of rotated files removed before they were shipped.", s.PrunedBytes),
		g("forward_lag_bytes", "forward_lag_bytes", "Bytes written and not yet accepted by the OTLP receiver.", s.LagBytes),
		g("forward_lag_seconds", "forward_lag_seconds", "Seconds since everything written was last shipped.", s.LagSeconds),
	}
}

// String returns name=value for every field, as writer.Stats.String.
func (s Stats) String() string { return s.Fields().String() }
