package atomicwrite

import (
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}

// withSys replaces the operating system seen by a File.
func withSys(s sysCalls) Option {
	return optionFunc(func(c *config) { c.sys = s })
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// spySys counts system calls and lets a test intercept them.
type spySys struct {
	sysCalls
	mu     sync.Mutex
	counts map[string]int

	// If set, called instead of the real write; real is the real one.
	onWrite func(fd int, p []byte, real func(int, []byte) (int, error)) (int, error)
	// If set, called before every flock.
	onFlock func(how lockHow)
}

func newSpy() *spySys { return &spySys{sysCalls: osSys{}, counts: map[string]int{}} }

func (s *spySys) count(op string) {
	s.mu.Lock()
	s.counts[op]++
	s.mu.Unlock()
}

// take returns the counts so far and resets them.
func (s *spySys) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	s.counts = map[string]int{}
	return c
}

func (s *spySys) open(path string, perm uint32) (int, error) {
	s.count("open")
	return s.sysCalls.open(path, perm)
}

func (s *spySys) write(fd int, p []byte) (int, error) {
	s.count("write")
	if s.onWrite != nil {
		return s.onWrite(fd, p, s.sysCalls.write)
	}
	return s.sysCalls.write(fd, p)
}

func (s *spySys) flock(fd int, how lockHow) error {
	s.count("flock")
	if s.onFlock != nil {
		s.onFlock(how)
	}
	return s.sysCalls.flock(fd, how)
}

func (s *spySys) fstat(fd int) (fileID, error) {
	s.count("fstat")
	return s.sysCalls.fstat(fd)
}

func (s *spySys) stat(path string) (fileID, error) {
	s.count("stat")
	return s.sysCalls.stat(path)
}

func (s *spySys) fsync(fd int) error {
	s.count("fsync")
	return s.sysCalls.fsync(fd)
}

func (s *spySys) rename(from, to string) error {
	s.count("rename")
	return s.sysCalls.rename(from, to)
}
