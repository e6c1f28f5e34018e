package bench

import (
	"bytes"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Peak resident set sizes come from VmHWM in /proc/PID/status, not from
// rusage: Linux carries ru_maxrss across execve from the old address space,
// and a Go parent starts children with vfork semantics (CLONE_VM), so a
// child's ru_maxrss is at least its parent's resident size at the fork.

// vmHWM returns the peak resident set of process pid in bytes, or 0.
func vmHWM(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	line := b[i+len("VmHWM:"):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return kb << 10
}

// rssMonitor samples a process's VmHWM until stopped.
type rssMonitor struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func monitorRSS(pid int) *rssMonitor {
	m := &rssMonitor{stop: make(chan struct{}), done: make(chan struct{})}
	p := strconv.Itoa(pid)
	go func() {
		defer close(m.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v := vmHWM(p); v > m.peak.Load() {
				m.peak.Store(v)
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// sample takes one more sample now (call it just before the process ends).
func (m *rssMonitor) sample(pid int) {
	if v := vmHWM(strconv.Itoa(pid)); v > m.peak.Load() {
		m.peak.Store(v)
	}
}

// finish stops sampling and returns the peak seen.
func (m *rssMonitor) finish() int64 {
	close(m.stop)
	<-m.done
	return m.peak.Load()
}
