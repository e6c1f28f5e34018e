// Package rerun runs a background job one run at a time: a request that
// comes while the job runs makes it run once more when it ends, so that
// nothing asked for is missed and no two runs overlap, and Wait lets an
// owner that closes wait for the last run. The writer's compression of
// rotated files and direct mode's compression and pruning both use it.
package rerun

import "sync"

// Runner runs a job in the background. The zero value is ready to use.
type Runner struct {
	mu      sync.Mutex
	running bool
	again   bool
	err     error // the first failure, for Wait
	wg      sync.WaitGroup
}

// Start runs job in a goroutine, or, if a run is under way, makes that run
// go once more when it ends.
func (r *Runner) Start(job func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		r.again = true
		return
	}
	r.running = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			err := job()
			r.mu.Lock()
			if r.err == nil {
				r.err = err
			}
			if !r.again {
				r.running = false
				r.mu.Unlock()
				return
			}
			r.again = false
			r.mu.Unlock()
		}
	}()
}

// Wait waits for the run under way, if any, and returns the first error a
// run returned.
func (r *Runner) Wait() error {
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
