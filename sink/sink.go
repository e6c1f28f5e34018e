package sink

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/logfanin/logfanin/internal/wire"
)

// Stats counts what a Sink has done with the records given to Write.
type Stats struct {
	Sent       uint64 // records handed to the writer (acknowledged, with acks)
	Dropped    uint64 // records discarded by the Drop policy
	Oversize   uint64 // records refused by Write for their size
	Fallback   uint64 // records written to the fallback file
	Reconnects uint64 // connections made after the first one
	Errors     uint64 // errors reported to the error output
	Lost       uint64 // records still held when Close gave up, or that the fallback file refused

	Buffered      int // records held now: not sent, or not acknowledged
	BufferedBytes int // their bytes, frame headers included
}

// Sink sends records to a logfanin writer. It implements
// zapcore.WriteSyncer: every Write is one record. A Sink is safe for use by
// many goroutines; the records written by one goroutine keep their order.
type Sink struct {
	// Set by New, then read-only.
	t      transport // how records leave: a socket (buffered) or the pipe
	cfg    config
	addr   wire.Addr
	limit  int             // effective record size limit
	ack    bool            // hello/ack protocol on
	shm    int             // shared ring size, 0 for none
	pipe   *pipeFD         // fd:N: the pipe's shared state; nil on sockets
	fb     *fallbackFile   // the fallback file, nil without WithFallback
	errlog *errorLog       // the error output, written off the locks
	ctx    context.Context // cancelled by Close: ends a dial in progress
	cancel context.CancelFunc

	// The connection's write side, owned by whoever holds wmu: Write (to
	// send its record at once), the flusher, connect and Close. Lock
	// order: wmu, then mu.
	wmu    sync.Mutex
	iov    net.Buffers // the two halves of a wrapped ring region
	iovArr [2][]byte
	hello  []byte // the hello of the connection being set up

	// The state, under mu; cond (on mu) wakes Write, Sync and Close
	// waiting for room or acknowledgements.
	mu      sync.Mutex
	cond    sync.Cond
	ring    ring     // records held: unsent, or sent and not acknowledged
	ackSeq  uint64   // every record up to ackSeq is released
	ackHigh uint64   // highest sequence the writer acknowledged
	doneSeq uint64   // highest sequence whose write returned on this connection
	conn    net.Conn // nil while disconnected; replaced by run, under wmu and mu
	gen     uint64   // generation of conn: news of an older one is ignored
	shared  *shmConn // the shared ring of conn, if any; replaced under wmu
	session [wire.SessionIDSize]byte
	notice  []byte // scratch for drop notices

	// Where the Sink stands, under mu. They are not one state: they
	// combine (a closing Sink may be on its fallback file, and a
	// connection may time out while closing), and each answers one
	// question its readers ask.
	shmOff     bool // the writer refused a shared ring: use the socket
	connected  bool // a connection was made once (later ones are reconnects)
	closing    bool // Close started: Write refuses
	closed     bool // Close stopped waiting: the goroutines stop
	timedOut   bool // Close's timeout passed
	fallbackOn bool // the writer is unreachable: records go to the fallback file

	pendingDrops uint64 // records dropped since the last drop notice
	dialFails    uint64 // failed dials, so Sync knows that one more failed
	dialErr      error  // the last dial's error, for Sync
	lastErr      error  // the last connection error, for Close's error

	// Signals, each with a buffer of one (see signal).
	kick   chan struct{}  // batch: the flusher sends after the delay
	urgent chan struct{}  // the flusher sends now
	disc   chan struct{}  // the connection is gone: run reconnects
	done   chan struct{}  // closed by Close: the goroutines end
	wg     sync.WaitGroup // run, flusher and the connection's reader

	closeOnce sync.Once
	closeErr  error

	// Counters for Stats, updated without a lock.
	sent, dropped, oversize, fallback, reconnects, errs, lost atomic.Uint64
}

var _ zapcore.WriteSyncer = (*Sink)(nil)

// transport is how records leave the process. The Sink's API checks what
// all transports share (the size limit, the fallback file, the error
// output) and leaves the rest to it.
type transport interface {
	write(p []byte) (int, error) // one record within the limit
	sync() error                 // before the fallback file is synced
	close() error                // before the fallback file is closed
	stats() Stats
}

// socketTransport sends over a stream or datagram socket, through the
// Sink's ring of held records, its connection loop and its flusher: the
// Sink's own state, under its locks (conn.go, flush.go).
type socketTransport struct{ *Sink }

var (
	_ transport = socketTransport{}
	_ transport = pipeTransport{}
)

// New returns a Sink sending to addr: "unix://PATH" (stream socket, with
// acknowledgements unless WithAck(false)), "unixgram://PATH" (one datagram
// per record) or "fd:N" (an inherited pipe, records cut into chunks). An
// empty addr means the value of the environment variable LOGFANIN_ADDR.
//
// New fails only for a bad address or bad options: a writer that is not
// running yet is connected to in the background, and records wait in the
// buffer (or go to the fallback file) meanwhile.
func New(addr string, opts ...Option) (*Sink, error) {
	a, err := resolveAddr(addr)
	if err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, addr: a, errlog: newErrorLog(cfg.errOut)}
	s.limit = min(cfg.maxRecord, wire.MaxRecordLimit)
	switch a.Transport {
	case wire.Stream:
		s.ack = cfg.ack >= 0
		if s.ack && shmSupported && cfg.shm >= 0 {
			s.shm = cmp.Or(cfg.shm, DefaultSharedMemory)
		}
	case wire.Datagram, wire.Pipe:
		if cfg.ack > 0 {
			return nil, fmt.Errorf("sink: %s: acknowledgements need a stream socket (unix://)", a)
		}
	}
	if a.Transport == wire.Pipe {
		if s.pipe, err = openPipe(a.FD, cfg.pipeChunk); err != nil {
			return nil, fmt.Errorf("sink: %s: %w", a, err)
		}
	} else {
		s.limit = min(s.limit, cfg.bufferSize-wire.FrameHeaderSize)
		if a.Transport == wire.Datagram {
			s.limit = min(s.limit, datagramLimit(cfg.maxRecord))
		}
	}
	if cfg.fallback != "" {
		if s.fb, err = openFallback(cfg.fallback, cfg.fallbackOpts); err != nil {
			if s.pipe != nil {
				s.pipe.release()
			}
			return nil, fmt.Errorf("sink: fallback: %w", err)
		}
	}
	if s.pipe != nil {
		s.t = pipeTransport{s}
		return s, nil
	}
	s.t = socketTransport{s}
	crand.Read(s.session[:]) // never fails (crypto/rand)
	s.cond.L = &s.mu
	s.ring = newRing(cfg.bufferSize)
	s.kick = make(chan struct{}, 1)
	s.urgent = make(chan struct{}, 1)
	s.disc = make(chan struct{}, 1)
	s.done = make(chan struct{})
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.run()
	go s.flusher()
	return s, nil
}

func resolveAddr(addr string) (wire.Addr, error) {
	if addr != "" {
		a, err := wire.ParseAddr(addr)
		if err != nil {
			return wire.Addr{}, fmt.Errorf("sink: %w", err)
		}
		return a, nil
	}
	env, ok := os.LookupEnv(wire.EnvAddr)
	if !ok || env == "" {
		return wire.Addr{}, fmt.Errorf("sink: no address given and %s is not set", wire.EnvAddr)
	}
	a, err := wire.ParseAddr(env)
	if err != nil {
		return wire.Addr{}, fmt.Errorf("sink: %s: %w", wire.EnvAddr, err)
	}
	return a, nil
}

// Addr returns the writer's address, as New reads it.
func (s *Sink) Addr() string { return s.addr.String() }

// Write sends p, one whole record, to the writer. It copies p. When the
// buffer is full Write waits (Block) or discards the record (Drop, which
// still returns len(p) and no error: drops are counted and reported in the
// output). A record over the limit is refused with a *SizeError. While the fallback is in use the record goes to the
// fallback file, as the line the writer would write for it.
func (s *Sink) Write(p []byte) (int, error) {
	if len(p) > s.limit {
		s.oversize.Add(1)
		return 0, &SizeError{Len: len(p), Max: s.limit}
	}
	return s.t.write(p)
}

// write holds the record in the ring and sends it, at once or with the
// next batch.
func (t socketTransport) write(p []byte) (int, error) {
	s := t.Sink
	n := wire.FrameHeaderSize + len(p)
	s.mu.Lock()
	for {
		if s.closing {
			s.mu.Unlock()
			return 0, ErrClosed
		}
		if s.fallbackOn {
			err := s.fallbackLocked(p)
			s.mu.Unlock()
			if err != nil {
				return 0, err
			}
			return len(p), nil
		}
		if s.pendingDrops > 0 {
			s.noteDropsLocked()
		}
		if s.ring.fits(n) || (s.ringAcksLocked(false) && s.ring.fits(n)) {
			break
		}
		if s.cfg.policy == Drop {
			s.dropped.Add(1)
			s.pendingDrops++
			s.mu.Unlock()
			return len(p), nil
		}
		s.waitLocked()
	}
	s.ring.push(p)
	target := s.heldSeqLocked()
	direct := s.conn != nil && (s.cfg.batch == 0 || s.ring.unsentBytes >= batchBytes)
	if !direct && s.cfg.batch > 0 && s.conn != nil {
		signal(s.kick)
	}
	s.mu.Unlock()
	if direct {
		s.wmu.Lock()
		s.flush(target)
		s.wmu.Unlock()
	}
	return len(p), nil
}

// Sync returns when every record written before it has been handed to the
// writer (written to the socket or pipe; with acknowledgements, written to
// the writer's output) or to the fallback file. If the writer is away,
// Sync waits for the next connection attempt and returns its error if it
// fails.
func (s *Sink) Sync() error {
	if err := s.t.sync(); err != nil {
		return err
	}
	return s.syncFallback()
}

// sync waits for the acknowledgement (or the write) of every record held
// now.
func (t socketTransport) sync() error {
	s := t.Sink
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.noteDropsLocked()
	target := s.heldSeqLocked()
	fails := s.dialFails
	signal(s.urgent)
	for s.ackSeq < target {
		if s.closed || (s.closing && s.timedOut) {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.dialFails != fails {
			err := fmt.Errorf("sink: sync: %d records wait for the writer at %s: %w", s.ring.n, s.addr, s.dialErr)
			s.mu.Unlock()
			return err
		}
		s.waitLocked()
	}
	s.mu.Unlock()
	return nil
}

func (s *Sink) syncFallback() error {
	if s.fb == nil {
		return nil
	}
	if err := s.fb.Sync(); err != nil {
		return fmt.Errorf("sink: fallback: %w", err)
	}
	return nil
}

// Close sends what is buffered, waiting at most the close timeout, stops
// the Sink's goroutines and closes the connection and the fallback file.
// Records still held then go to the fallback file if there is one, and are
// otherwise counted in Stats().Lost. Close returns an error, wrapping the
// last connection error, if records were not delivered, or the error of
// closing the fallback file. It is idempotent: later calls return the same
// error. It does not close an fd:N descriptor, which belongs to the
// process.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Sink) close() error {
	err := s.t.close()
	if s.fb != nil {
		if e := s.fb.Close(); e != nil && err == nil {
			err = fmt.Errorf("sink: fallback: %w", e)
		}
	}
	s.errlog.close() // last: what Close reported is written before it returns
	return err
}

// close waits up to the close timeout for what is held to be delivered,
// stops the goroutines and closes the connection; what is left goes to
// the fallback file or is counted lost.
func (st socketTransport) close() error {
	s := st.Sink
	var err error
	s.mu.Lock()
	s.closing = true
	s.noteDropsLocked()
	target := s.heldSeqLocked()
	signal(s.urgent)
	t := time.AfterFunc(s.cfg.closeTimeout, func() {
		s.mu.Lock()
		s.timedOut = true
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	for s.ackSeq < target && !s.timedOut && !s.fallbackOn {
		s.waitLocked()
	}
	t.Stop()
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	close(s.done)
	s.cancel()
	s.wg.Wait()
	s.wmu.Lock()
	s.mu.Lock()
	if s.shared != nil {
		s.shared.ring.Close()
		s.shared = nil
	}
	s.mu.Unlock()
	s.wmu.Unlock()

	s.mu.Lock()
	if s.ring.n > 0 {
		n := s.ring.n
		if s.fb != nil {
			s.drainToFallbackLocked()
		} else {
			s.lost.Add(uint64(n))
			s.ring.markAllSent()
			s.releaseLocked(n)
			err = fmt.Errorf("sink: closed with %d records not delivered to %s", n, s.addr)
			if s.lastErr != nil {
				err = fmt.Errorf("%w: %w", err, s.lastErr)
			}
		}
	}
	if s.pendingDrops > 0 {
		s.noteDropsLocked()
	}
	s.mu.Unlock()
	return err
}

// Stats returns the counters so far.
func (s *Sink) Stats() Stats { return s.t.stats() }

// stats reads the counters under the lock, so that Sent and Buffered
// agree; the ring's acknowledgements are taken first.
func (t socketTransport) stats() Stats {
	s := t.Sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ringAcksLocked(false)
	st := Stats{Buffered: s.ring.n, BufferedBytes: s.ring.bytes}
	s.countersInto(&st)
	return st
}

// countersInto fills in the counters every transport keeps.
func (s *Sink) countersInto(st *Stats) {
	st.Sent = s.sent.Load()
	st.Dropped = s.dropped.Load()
	st.Oversize = s.oversize.Load()
	st.Fallback = s.fallback.Load()
	st.Reconnects = s.reconnects.Load()
	st.Errors = s.errs.Load()
	st.Lost = s.lost.Load()
}

// withPipeChunk is a test seam: chunks of n bytes on a pipe, such as the
// 512 of macOS and the BSDs, to exercise their chunking on Linux.
func withPipeChunk(n int) Option {
	return optionFunc(func(c *config) { c.pipeChunk = n })
}

// withConnectHook is a test seam: f runs after every connection is set up.
func withConnectHook(f func()) Option {
	return optionFunc(func(c *config) { c.onConnect = f })
}
