package sink

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// errorLog writes the Sink's own errors to the error output. Callers hold
// the Sink's mutex, which every Write takes, so they only queue the line:
// a goroutine of the log's own writes and syncs it, and an error output
// that is slow (a terminal, a full pipe, a disk) never holds up Write. The
// goroutine starts with the first line and ends at close, after writing
// every line queued. At most maxQueuedErrors lines wait; past that they
// are counted, and the count is written when there is room again.
type errorLog struct {
	w   io.Writer
	wmu sync.Mutex // held while writing to w

	mu      sync.Mutex
	lines   []string // queued, oldest first
	skipped int      // lines not queued: the queue was full
	running bool     // the goroutine runs
	closed  bool
	wake    chan struct{}
	done    chan struct{} // closed when the goroutine ends
}

const maxQueuedErrors = 1000

func newErrorLog(w io.Writer) *errorLog {
	return &errorLog{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// log queues msg, stamped with the time it happened.
func (l *errorLog) log(msg string) {
	line := time.Now().UTC().Format(time.RFC3339Nano) + " logfanin: " + msg + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.writeLine(line) // after close, nothing runs concurrently
		return
	}
	if len(l.lines) >= maxQueuedErrors {
		l.skipped++
		return
	}
	l.lines = append(l.lines, line)
	if !l.running {
		l.running = true
		go l.run()
	}
	signal(l.wake)
}

func (l *errorLog) run() {
	defer close(l.done)
	for {
		l.mu.Lock()
		lines, skipped, closed := l.lines, l.skipped, l.closed
		l.lines, l.skipped = nil, 0
		l.mu.Unlock()
		if skipped > 0 {
			lines = append(lines, fmt.Sprintf("%s logfanin: %d error lines not written: the error output was too slow\n", time.Now().UTC().Format(time.RFC3339Nano), skipped))
		}
		for _, line := range lines {
			l.writeLine(line)
		}
		if closed {
			return
		}
		<-l.wake
	}
}

func (l *errorLog) writeLine(line string) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	io.WriteString(l.w, line)
	if sy, ok := l.w.(interface{ Sync() error }); ok {
		sy.Sync()
	}
}

// close writes what is queued and stops the goroutine; later lines are
// written at once.
func (l *errorLog) close() {
	l.mu.Lock()
	l.closed = true
	running := l.running
	l.mu.Unlock()
	if running {
		signal(l.wake)
		<-l.done
	}
}
