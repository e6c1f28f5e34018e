package writer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// How the writer is built
//
// A record goes from a reader goroutine to the output goroutine through one
// bounded queue:
//
//	input's reader goroutine ── feeder.add ──▶ block ── queue ──▶ outputLoop ──▶ Output
//	(stream_conn.go, datagram.go,  (queue.go: formats     (queue.go)   (outputloop.go: batch,
//	 pipe.go, lines.go)             one JSON line each)                 write, retry, acks)
//
// Goroutines and what they own: each input has one reader goroutine
// (stream_listener.go's accept loop starts one per connection), which owns
// its feeder and the input's read state; a stream connection in ack mode
// has an ack loop as well (stream_acks.go). The output goroutine owns the
// Output and the batch. The Server's own state (inputs, sessions, the
// lifecycle flags) is under s.mu; Stats are atomic counters.
//
// A new input is a type with drain and force (see input), a serve method
// that reads and calls its feeder's add for every record and flush before
// it may block, registered with addInput; its Add… method is the API.

// Server is the fan-in writer: it reads records from any number of stream
// sockets, datagram sockets, pipes and line sources and writes them, one
// line each, to a single Output.
//
// Inputs serve as soon as they are added (Listen, AddListener,
// AddPacketConn, AddPipe, AddPipeEnds, AddLines, AddLinesFrom), and the
// first one added starts the output goroutine: records never wait for
// Start, which is needed only to start the output before any input
// exists. Every method is safe for concurrent use.
type Server struct {
	cfg    config
	cfgErr error // options given bad values: the Server serves nothing
	c      counters
	diag   *diag
	frames *frameBudget // the large-frame memory of stream connections

	q          *queue        // records from the readers to the output goroutine
	output     *outputLoop   // the output goroutine, owner of the Output
	inputsDone chan struct{} // closed when every input Shutdown waits for has ended
	abort      chan struct{} // closed when Shutdown's context expires

	wg       sync.WaitGroup // input goroutines Shutdown waits for
	detached sync.WaitGroup // line readers that can't be interrupted: Shutdown waits for them until its context expires

	mu       sync.Mutex // guards the fields below
	started  bool       // the output goroutine runs (or ran)
	closing  bool       // Shutdown began: no new inputs
	forced   bool       // Shutdown's context expired
	inputs   map[input]struct{}
	sessions map[[wire.SessionIDSize]byte]*session // ack sessions by id, see session.go

	shutdownOnce sync.Once
	shutdownErr  error
}

// input is anything Shutdown must stop.
type input interface {
	// drain is called when Shutdown begins: stop taking new work and end
	// once everything already sent is read.
	drain()
	// force is called when Shutdown's context expires: end now, keeping
	// what has been received completely.
	force()
}

// New returns a Server writing to out. It starts no goroutine until an
// input is added or Start is called. An option given a bad value (such as
// WithQueueBytes(0)) keeps the Server from serving: Start, Listen and the
// Add methods return the error, and AddLines and AddLinesFrom, which
// return nothing, print it to the diagnostics.
func New(out Output, opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	s := &Server{
		cfg:        cfg,
		diag:       newDiag(cfg.diag),
		frames:     newFrameBudget(cfg.maxBuffered),
		q:          newQueue(cfg.queueBytes),
		inputsDone: make(chan struct{}),
		abort:      make(chan struct{}),
		inputs:     make(map[input]struct{}),
		sessions:   make(map[[wire.SessionIDSize]byte]*session),
	}
	s.output = newOutputLoop(out, s)
	s.cfgErr = errors.Join(cfg.errs...)
	return s
}

// Start starts the output goroutine. Adding the first input starts it as
// well, so Start is needed only to open the output before any input
// exists. Calling it again does nothing; after Shutdown it returns an
// error.
func (s *Server) Start() error {
	if s.cfgErr != nil {
		return s.cfgErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errClosed
	}
	s.startLocked()
	return nil
}

func (s *Server) startLocked() {
	if !s.started {
		s.started = true
		go s.output.run()
	}
}

// Reopen asks the output goroutine to reopen the output between two
// batches (on SIGHUP, after logrotate moved the file away) and waits for
// it. Records keep queueing meanwhile.
func (s *Server) Reopen() error {
	s.mu.Lock()
	if !s.started {
		// The output goroutine is not running, and can't start while
		// s.mu is held: s.mu stands in for it.
		defer s.mu.Unlock()
		return s.output.reopen()
	}
	s.mu.Unlock()
	req := make(chan error, 1)
	select {
	case s.output.reopenCh <- req:
		return <-req
	case <-s.output.done:
		return errClosed
	}
}

// Stats returns the counters so far. It is cheap and safe to call at any
// time.
func (s *Server) Stats() Stats {
	st := s.c.snapshot()
	st.FrameBuffers = int64(s.frames.inUse())
	if fo, ok := s.output.out.(*FileOutput); ok {
		st.Rotations = fo.rotations.Load()
		st.Reopens += fo.autoOpens.Load()
	}
	return st
}

// addInput registers in and runs serve in a goroutine owned by the Server.
// If detached, Shutdown does not wait for it once its context expires.
func (s *Server) addInput(in input, detached bool, serve func()) error {
	if s.cfgErr != nil {
		return s.cfgErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errClosed
	}
	s.startLocked()
	s.inputs[in] = struct{}{}
	wg := &s.wg
	if detached {
		wg = &s.detached
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer s.removeInput(in)
		serve()
	}()
	return nil
}

// addChild registers an input started by another input (an accepted
// connection). It reports false if Shutdown has already forced inputs to
// end, in which case in has been forced too and serve still runs.
func (s *Server) addChild(in input, serve func()) {
	s.mu.Lock()
	s.inputs[in] = struct{}{}
	forced := s.forced
	s.wg.Add(1)
	s.mu.Unlock()
	if forced {
		in.force()
	}
	go func() {
		defer s.wg.Done()
		defer s.removeInput(in)
		serve()
	}()
}

func (s *Server) removeInput(in input) {
	s.mu.Lock()
	delete(s.inputs, in)
	s.mu.Unlock()
}

func (s *Server) eachInput(f func(input)) {
	s.mu.Lock()
	ins := make([]input, 0, len(s.inputs))
	for in := range s.inputs {
		ins = append(ins, in)
	}
	s.mu.Unlock()
	for _, in := range ins {
		f(in)
	}
}

// Shutdown stops the Server: it stops accepting connections and removes
// the socket files it created, then waits until every connection, pipe and
// line source has reached its end (clients closing) with all their records
// written. If ctx expires first, it closes what remains: records received
// whole are still written, half records are counted as Partial; a line
// source it can neither interrupt nor close is left running, and what it
// reads later is counted as Lost (see AddLines). Then it
// writes the last batch and closes the output. If the output keeps failing
// until ctx expires, the records not written are counted as Lost.
//
// Shutdown is idempotent: later calls wait for the first to finish and
// return its result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.startLocked()
	s.mu.Unlock()

	s.eachInput(input.drain)
	var errs []error
	// Every input, those that can't be interrupted included, has until
	// ctx expires to reach its end. Then the others are forced and
	// waited for; the detached ones are left to their goroutines, and
	// what they read later is counted as lost (the queue is closed to
	// them before the output is).
	if !waitCtx(ctx, &s.wg, &s.detached) {
		s.forceAll()
		s.wg.Wait()
	}
	close(s.inputsDone)
	select {
	case <-s.output.done:
	case <-ctx.Done():
		s.forceAll()
		<-s.output.done
	}
	if n := s.c.lost.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("writer: %d records lost at shutdown", n))
	}
	if err := s.output.out.Close(); err != nil { // the output goroutine has ended
		errs = append(errs, fmt.Errorf("close output: %w", err))
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// forceAll ends every input now and makes the output give up on failing
// writes.
func (s *Server) forceAll() {
	s.mu.Lock()
	already := s.forced
	s.forced = true
	s.mu.Unlock()
	if !already {
		close(s.abort)
	}
	s.eachInput(input.force)
}

var errClosed = errors.New("writer: server is shut down")

// waitCtx waits for every wg or ctx and reports whether the wait groups
// finished. When ctx wins, its helper goroutine lives on until the groups
// finish: after Shutdown's forceAll that is only as long as a detached
// line reader, which already outlives Shutdown.
func waitCtx(ctx context.Context, wgs ...*sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		for _, wg := range wgs {
			wg.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// diag writes the Server's own diagnostic lines, at most diagBurst per
// second; it reports how many it suppressed.
type diag struct {
	mu         sync.Mutex
	w          io.Writer
	window     time.Time
	n          int
	suppressed int
	lines      atomic.Uint64
}

const diagBurst = 20

func newDiag(w io.Writer) *diag { return &diag{w: w} }

func (d *diag) printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if now.Sub(d.window) >= time.Second {
		if d.suppressed > 0 {
			fmt.Fprintf(d.w, "logfanin: %d diagnostic lines suppressed\n", d.suppressed)
		}
		d.window, d.n, d.suppressed = now, 0, 0
	}
	if d.n >= diagBurst {
		d.suppressed++
		return
	}
	d.n++
	d.lines.Add(1)
	fmt.Fprintf(d.w, "logfanin: "+format+"\n", args...)
}
