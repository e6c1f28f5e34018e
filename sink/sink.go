package sink

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
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
	cfg    config
	addr   wire.Addr
	limit  int  // effective record size limit
	ack    bool // hello/ack protocol on
	shm    int  // shared ring size, 0 for none
	pipe   *pipeFD
	fb     *fallbackFile
	cancel context.CancelFunc
	ctx    context.Context

	// wmu serialises writes to the connection. Lock order: wmu, then mu.
	wmu    sync.Mutex
	iov    net.Buffers
	iovArr [2][]byte
	hello  []byte

	mu           sync.Mutex
	cond         sync.Cond
	ring         ring
	ackSeq       uint64 // every record up to ackSeq is released
	ackHigh      uint64 // highest sequence the writer acknowledged
	doneSeq      uint64 // highest sequence whose write returned on this connection
	conn         net.Conn
	gen          uint64   // connection generation
	shared       *shmConn // the shared ring of conn, if any; replaced under wmu
	shmOff       bool     // the writer refused a shared ring: use the socket
	connected    bool     // a connection was made once
	closing      bool     // Close started: Write refuses
	closed       bool     // Close gave up waiting: goroutines stop
	timedOut     bool
	fallbackOn   bool
	pendingDrops uint64
	dialFails    uint64
	dialErr      error
	lastErr      error
	session      [wire.SessionIDSize]byte
	notice       []byte

	kick   chan struct{} // batch: flush after the delay
	urgent chan struct{} // flush now
	disc   chan struct{} // the connection is gone: reconnect
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
	errlog    *errorLog

	sent, dropped, oversize, fallback, reconnects, errs, lost atomic.Uint64
}

var _ zapcore.WriteSyncer = (*Sink)(nil)

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
			return nil, fmt.Errorf("logfanin: %s: acknowledgements need a stream socket (unix://)", a)
		}
	}
	if a.Transport == wire.Pipe {
		if s.pipe, err = openPipe(a.FD); err != nil {
			return nil, fmt.Errorf("logfanin: %s: %w", a, err)
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
			return nil, fmt.Errorf("logfanin: fallback: %w", err)
		}
	}
	if s.pipe != nil {
		return s, nil
	}
	if _, err := crand.Read(s.session[:]); err != nil {
		return nil, fmt.Errorf("logfanin: session id: %w", err)
	}
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
			return wire.Addr{}, fmt.Errorf("logfanin: %w", err)
		}
		return a, nil
	}
	env, ok := os.LookupEnv(wire.EnvAddr)
	if !ok || env == "" {
		return wire.Addr{}, fmt.Errorf("logfanin: no address given and %s is not set", wire.EnvAddr)
	}
	a, err := wire.ParseAddr(env)
	if err != nil {
		return wire.Addr{}, fmt.Errorf("logfanin: %s: %w", wire.EnvAddr, err)
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
	if s.pipe != nil {
		return s.writePipe(p)
	}
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
	target := s.ackSeq + uint64(s.ring.n)
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

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// flush sends the unsent records up to sequence target. The caller holds
// wmu.
func (s *Sink) flush(target uint64) {
	for {
		s.mu.Lock()
		conn, gen, sc := s.conn, s.gen, s.shared
		first := s.ackSeq + uint64(s.ring.n-s.ring.unsent) + 1 // first unsent
		if conn == nil || s.ring.unsent == 0 || first > target || (sc != nil && !sc.ready.Load()) {
			s.mu.Unlock()
			return
		}
		var n int64
		var err error
		if s.addr.Transport == wire.Datagram {
			rec := s.ring.record(s.ring.send)
			s.ring.markSent(1)
			s.mu.Unlock()
			_, err = conn.Write(rec)
			s.mu.Lock()
			if isMsgSize(err) {
				s.reportLocked(fmt.Errorf("datagram of %d bytes refused by the kernel (record dropped): %w", len(rec), err))
				s.oversize.Add(1)
				err = nil
			} else if err == nil {
				s.sent.Add(1)
			}
			if err == nil {
				n = int64(wire.FrameHeaderSize + len(rec))
			}
		} else {
			a, b := s.ring.unsentRuns()
			s.ring.markAllSent()
			s.mu.Unlock()
			if sc != nil {
				if err = sendRing(sc, conn, a); err == nil {
					err = sendRing(sc, conn, b)
				}
			} else if b == nil {
				var m int
				m, err = conn.Write(a)
				n = int64(m)
			} else {
				s.iov = append(s.iovArr[:0], a, b)
				n, err = s.iov.WriteTo(conn)
				s.iov = nil
			}
			s.mu.Lock()
		}
		if s.gen == gen {
			if s.ack {
				if err == nil {
					s.doneSeq = s.ackSeq + uint64(s.ring.n-s.ring.unsent)
					s.applyAcksLocked()
				}
			} else {
				k := s.ring.sentWithin(n)
				s.releaseLocked(k)
				if s.addr.Transport != wire.Datagram {
					s.sent.Add(uint64(k))
				}
				if err != nil {
					s.ring.rewind()
				}
			}
			if err != nil {
				s.breakLocked(gen, err)
			}
		}
		s.cond.Broadcast()
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *Sink) releaseLocked(k int) {
	if k > 0 {
		s.ring.release(k)
		s.ackSeq += uint64(k)
	}
}

// ackedLocked takes the writer's acknowledgement of the records up to seq.
func (s *Sink) ackedLocked(seq uint64) {
	last := s.ackSeq + uint64(s.ring.n)
	if seq > last {
		s.reportLocked(fmt.Errorf("writer acknowledged sequence %d, beyond the last sent %d", seq, last))
		seq = last
	}
	if seq > s.ackHigh {
		s.ackHigh = seq
		s.applyAcksLocked()
	}
}

// ringAcksLocked takes the acknowledgement the writer published in the
// shared ring, if it publishes them there; with want, it first tells the
// writer that the caller is about to wait, so that the writer sends an ack
// frame once it has a newer one. It reports whether records were
// released.
func (s *Sink) ringAcksLocked(want bool) bool {
	sc := s.shared
	if sc == nil || !sc.ready.Load() {
		return false
	}
	var next uint64
	if want {
		next = sc.ring.WantAck()
	} else {
		next = sc.ring.Acked()
	}
	before := s.ackSeq
	if next > 0 {
		s.ackedLocked(next - 1)
	}
	return s.ackSeq != before
}

// waitLocked waits for a change of state: an acknowledgement, room, a
// connection. Acknowledgements in the shared ring come without a wake-up,
// so it takes those first, and asks for an ack frame if they were not
// enough.
func (s *Sink) waitLocked() {
	if s.ringAcksLocked(false) || s.ringAcksLocked(true) {
		return
	}
	s.cond.Wait()
}

// applyAcksLocked releases the acknowledged records whose write has
// returned (the bytes of a write still under way are left alone).
func (s *Sink) applyAcksLocked() {
	t := min(s.ackHigh, s.doneSeq)
	if t > s.ackSeq {
		k := t - s.ackSeq
		s.releaseLocked(int(k))
		s.sent.Add(k)
		s.cond.Broadcast()
	}
}

// lastWordWait is how long a broken stream connection is still read for
// the writer's error frame.
const lastWordWait = 100 * time.Millisecond

// breakLocked drops connection gen after err.
func (s *Sink) breakLocked(gen uint64, err error) {
	if s.conn == nil || s.gen != gen {
		return
	}
	if uc, ok := s.conn.(*net.UnixConn); ok && s.addr.Transport == wire.Stream {
		// The writer's last word, an error frame saying why it closed,
		// may still be unread: the reader goroutine reads for a moment
		// longer, then closes the connection.
		uc.CloseWrite()
		uc.SetReadDeadline(time.Now().Add(lastWordWait))
	} else {
		s.conn.Close()
	}
	s.conn = nil
	s.lastErr = err
	if !s.closed {
		s.reportLocked(fmt.Errorf("connection to %s lost (%d records held): %w", s.addr, s.ring.n, err))
	}
	signal(s.disc)
	s.cond.Broadcast()
}

// run connects, and reconnects after a connection is lost, with backoff.
func (s *Sink) run() {
	defer s.wg.Done()
	backoff := s.cfg.minBackoff
	var start time.Time
	failing := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	wait := func(d time.Duration) bool {
		d = d/2 + rand.N(d/2+1)
		timer.Reset(d)
		select {
		case <-timer.C:
			return true
		case <-s.done:
			timer.Stop()
			return false
		}
	}
	for first := true; ; first = false {
		if !first {
			select {
			case <-s.disc:
			case <-s.done:
				return
			}
			// A connection that broke soon after it was made does not
			// reset the backoff, so a writer that refuses us is not
			// hammered.
			if time.Since(start) < s.cfg.maxBackoff {
				if !wait(backoff) {
					return
				}
				backoff = min(2*backoff, s.cfg.maxBackoff)
			} else {
				backoff = s.cfg.minBackoff
			}
		}
		for {
			s.mu.Lock()
			stop, up := s.closed, s.conn != nil
			s.mu.Unlock()
			if stop {
				return
			}
			if up {
				break
			}
			conn, err := s.dial()
			if err == nil {
				start = time.Now()
				if err = s.connect(conn, failing); err == nil {
					failing = false
					break
				}
			}
			s.dialFailed(err, !failing)
			failing = true
			if !wait(backoff) {
				return
			}
			backoff = min(2*backoff, s.cfg.maxBackoff)
		}
	}
}

func (s *Sink) dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, s.addr.Transport, s.addr.Path)
	if err != nil {
		return nil, err
	}
	if s.addr.Transport == wire.Datagram {
		raiseSendBuffer(conn, s.cfg.maxRecord)
	}
	return conn, nil
}

func (s *Sink) dialFailed(err error, first bool) {
	s.wmu.Lock()
	s.mu.Lock()
	s.dialFails++
	s.dialErr = err
	s.lastErr = err
	if first && !s.closed {
		s.reportLocked(fmt.Errorf("writer at %s unreachable, retrying: %w", s.addr, err))
	}
	if s.fb != nil && !s.fallbackOn && !s.closed {
		s.fallbackOn = true
		s.drainToFallbackLocked()
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	s.wmu.Unlock()
}

// connect takes conn into use: hello, replay of unacknowledged records,
// then what waited in the buffer.
func (s *Sink) connect(conn net.Conn, wasFailing bool) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return nil
	}
	s.gen++
	gen := s.gen
	s.conn = conn
	if s.connected {
		s.reconnects.Add(1)
	}
	s.connected = true
	s.fallbackOn = false
	flags := uint8(wire.HelloAck)
	var rights []byte
	if s.ack {
		// What the last writer acknowledged in the old ring is not
		// replayed; after the rewind no acknowledgement can release it.
		s.ringAcksLocked(false)
		s.ring.rewind()
		s.doneSeq = s.ackSeq
		if s.shared != nil {
			s.shared.ring.Close()
			s.shared = nil
		}
		if s.shm > 0 && !s.shmOff {
			if sc, f, err := s.newShared(); err != nil {
				s.shmOff = true
				s.reportLocked(fmt.Errorf("shared ring unavailable, records go through the socket: %w", err))
			} else {
				s.shared = sc
				flags |= wire.HelloShm | wire.HelloRingAck
				rights = passRights(f)
				defer f.Close()
			}
		}
		s.hello = wire.AppendHello(s.hello[:0], wire.Hello{
			Version: wire.ProtocolVersion, Flags: flags,
			Session: s.session, FirstSeq: s.ackSeq + 1,
		})
	}
	sc := s.shared
	if wasFailing {
		s.logLocked(fmt.Sprintf("connected to %s (%d records held)", s.addr, s.ring.n))
	}
	s.noteDropsLocked()
	s.mu.Unlock()
	if s.addr.Transport == wire.Stream {
		// The reader starts first, so that an error frame the writer sent
		// right at accept is read even if the hello can't be written.
		s.wg.Add(1)
		go s.read(conn, gen, sc)
	}
	if s.ack {
		var err error
		if rights != nil {
			_, _, err = conn.(*net.UnixConn).WriteMsgUnix(s.hello, rights, nil)
		} else {
			_, err = conn.Write(s.hello)
		}
		if err != nil {
			s.mu.Lock()
			s.breakLocked(gen, err)
			s.mu.Unlock()
			return nil // run waits for the disc signal
		}
	}
	s.flush(^uint64(0))
	if s.cfg.onConnect != nil {
		s.cfg.onConnect()
	}
	return nil
}

// newShared creates the shared ring of a new connection; the caller
// passes the returned memfd with the hello and closes it.
func (s *Sink) newShared() (*shmConn, *os.File, error) {
	if _, ok := s.conn.(*net.UnixConn); !ok {
		return nil, nil, fmt.Errorf("%T is not a Unix socket", s.conn)
	}
	r, f, err := newRingProducer(s.shm)
	if err != nil {
		return nil, nil, err
	}
	return &shmConn{ring: r, space: make(chan struct{}, 1), gone: make(chan struct{})}, f, nil
}

// read handles what the writer sends on a stream connection:
// acknowledgements, space notices for the shared ring sc (nil if none) and
// its last word, an error frame.
func (s *Sink) read(conn net.Conn, gen uint64, sc *shmConn) {
	defer s.wg.Done()
	defer conn.Close()
	if sc != nil {
		defer close(sc.gone)
	}
	fr := wire.NewFrameReader(conn, wire.MaxControl)
	for {
		f, err := fr.Next()
		if err == nil && !f.Control {
			err = &wire.ProtocolError{Reason: "writer sent a data frame"}
		}
		var msg any
		if err == nil {
			msg, err = wire.ParseControl(f.Payload)
		}
		s.mu.Lock()
		if err != nil {
			s.breakLocked(gen, err)
			s.mu.Unlock()
			return
		}
		switch m := msg.(type) {
		case wire.Ack:
			s.ackedLocked(m.Seq)
		case wire.Space:
			if sc != nil {
				if !sc.ready.Swap(true) {
					signal(s.urgent) // what waited for the ring goes now
				}
				signal(sc.space)
			}
		case *wire.ErrorFrame:
			s.lastErr = m
			s.reportLocked(m)
			if sc != nil && !sc.ready.Load() && m.Code == wire.CodeProtocol && !s.shmOff {
				// A writer that can't take the ring closes at the hello.
				s.shmOff = true
				s.reportLocked(errors.New("the writer refused the shared ring: records go through the socket"))
			}
			if m.Code == wire.CodeSession {
				// Another process holds this session id at this writer
				// (it opened it first, after a restart): a fresh one
				// replays the unacknowledged records under a session of
				// our own. Readers can't pair those with earlier copies,
				// but nothing is lost.
				if _, err := crand.Read(s.session[:]); err != nil {
					s.reportLocked(fmt.Errorf("new session id: %w", err))
				}
			}
		default:
			s.reportLocked(fmt.Errorf("unexpected control frame %T from the writer", m))
		}
		s.mu.Unlock()
	}
}

// flusher sends batches after their delay, and whatever Sync and Close ask
// for at once.
func (s *Sink) flusher() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-s.kick:
			timer.Reset(s.cfg.batch)
			select {
			case <-timer.C:
			case <-s.urgent:
				timer.Stop()
			case <-s.done:
				timer.Stop()
				return
			}
		case <-s.urgent:
		case <-s.done:
			return
		}
		s.wmu.Lock()
		s.flush(^uint64(0))
		s.wmu.Unlock()
	}
}

// Sync returns when every record written before it has been handed to the
// writer (written to the socket or pipe; with acknowledgements, written to
// the writer's output) or to the fallback file. If the writer is away,
// Sync waits for the next connection attempt and returns its error if it
// fails.
func (s *Sink) Sync() error {
	if s.pipe != nil {
		s.mu.Lock()
		closed := s.closing
		s.mu.Unlock()
		if closed {
			return ErrClosed
		}
		s.notePipeDrops()
		return s.syncFallback()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.noteDropsLocked()
	target := s.ackSeq + uint64(s.ring.n)
	fails := s.dialFails
	signal(s.urgent)
	for s.ackSeq < target {
		if s.closed || (s.closing && s.timedOut) {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.dialFails != fails {
			err := fmt.Errorf("logfanin: sync: %d records wait for the writer at %s: %w", s.ring.n, s.addr, s.dialErr)
			s.mu.Unlock()
			return err
		}
		s.waitLocked()
	}
	s.mu.Unlock()
	return s.syncFallback()
}

func (s *Sink) syncFallback() error {
	if s.fb == nil {
		return nil
	}
	if err := s.fb.Sync(); err != nil {
		return fmt.Errorf("logfanin: fallback: %w", err)
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
	var err error
	if s.pipe != nil {
		s.notePipeDrops()
		s.mu.Lock()
		s.closing = true
		if n := s.lost.Load(); n > 0 {
			err = fmt.Errorf("logfanin: %d records not delivered to %s: %w", n, s.addr, s.lastErr)
		}
		s.mu.Unlock()
		s.pipe.release()
	} else {
		s.mu.Lock()
		s.closing = true
		s.noteDropsLocked()
		target := s.ackSeq + uint64(s.ring.n)
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
				err = fmt.Errorf("logfanin: closed with %d records not delivered to %s", n, s.addr)
				if s.lastErr != nil {
					err = fmt.Errorf("%w: %w", err, s.lastErr)
				}
			}
		}
		if s.pendingDrops > 0 {
			s.noteDropsLocked()
		}
		s.mu.Unlock()
	}
	if s.fb != nil {
		if e := s.fb.Close(); e != nil && err == nil {
			err = fmt.Errorf("logfanin: fallback: %w", e)
		}
	}
	s.errlog.close() // last: what Close reported is written before it returns
	return err
}

// Stats returns the counters so far.
func (s *Sink) Stats() Stats {
	var st Stats
	if s.pipe == nil {
		// Under the lock, so that Sent and Buffered agree; the ring's
		// acknowledgements are taken first.
		s.mu.Lock()
		defer s.mu.Unlock()
		s.ringAcksLocked(false)
		st.Buffered, st.BufferedBytes = s.ring.n, s.ring.bytes
	}
	st.Sent = s.sent.Load()
	st.Dropped = s.dropped.Load()
	st.Oversize = s.oversize.Load()
	st.Fallback = s.fallback.Load()
	st.Reconnects = s.reconnects.Load()
	st.Errors = s.errs.Load()
	st.Lost = s.lost.Load()
	return st
}

// fallbackLocked writes one record to the fallback file, as one line.
func (s *Sink) fallbackLocked(p []byte) error {
	if _, err := s.fb.Write(p); err != nil {
		s.lost.Add(1)
		err = fmt.Errorf("logfanin: fallback: %w", err)
		s.reportLocked(err)
		return err
	}
	s.fallback.Add(1)
	return nil
}

// drainToFallbackLocked moves every held record, in order, to the
// fallback file. The caller holds wmu and mu.
func (s *Sink) drainToFallbackLocked() {
	s.ringAcksLocked(false) // written already: not copied to the fallback
	n := s.ring.n
	for off, i := s.ring.head, 0; i < n; i++ {
		s.fallbackLocked(s.ring.record(off))
		off = s.ring.next(off)
	}
	s.ring.markAllSent()
	s.releaseLocked(n)
	s.ackHigh = max(s.ackHigh, s.ackSeq)
	s.doneSeq = s.ackSeq
	s.cond.Broadcast()
}

// noteDropsLocked queues the drop notice, if records were dropped since
// the last one and it fits.
func (s *Sink) noteDropsLocked() {
	if s.pendingDrops == 0 {
		return
	}
	s.notice = appendDropNotice(s.notice[:0], s.pendingDrops)
	switch {
	case s.fallbackOn || (s.closed && s.fb != nil):
		if s.fallbackLocked(s.notice) != nil {
			return
		}
	case s.closed:
		return
	case s.ring.fits(wire.FrameHeaderSize + len(s.notice)):
		s.ring.push(s.notice)
		if s.conn != nil {
			signal(s.urgent)
		}
	default:
		return
	}
	s.pendingDrops = 0
}

// appendDropNotice appends the record that reports n dropped records.
func appendDropNotice(dst []byte, n uint64) []byte {
	now := time.Now()
	dst = append(dst, `{"level":"warn","ts":`...)
	dst = strconv.AppendFloat(dst, float64(now.UnixNano())/1e9, 'f', -1, 64)
	dst = append(dst, `,"logger":"logfanin","msg":"logfanin: records dropped","dropped":`...)
	dst = strconv.AppendUint(dst, n, 10)
	dst = append(dst, `,"pid":`...)
	dst = strconv.AppendInt(dst, int64(os.Getpid()), 10)
	return append(dst, "}\n"...)
}

// reportLocked reports err on the error output and counts it.
func (s *Sink) reportLocked(err error) {
	s.errs.Add(1)
	s.logLocked(err.Error())
}

// logLocked queues msg for the error output, which is written outside
// the lock (errorLog).
func (s *Sink) logLocked(msg string) { s.errlog.log(msg) }

// withConnectHook is a test seam: f runs after every connection is set up.
func withConnectHook(f func()) Option {
	return optionFunc(func(c *config) { c.onConnect = f })
}
