package sink

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// The connection: run dials the writer and redials with backoff after a
// connection is lost, connect takes a new connection into use (the hello,
// a shared ring, the replay of what the writer has not acknowledged), and
// read handles what the writer sends back (acks, space notices, its last
// word). A connection is known by its generation (s.gen), so that what a
// goroutine learns about an old connection never breaks a new one.

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
				s.connect(conn, failing)
				failing = false
				break
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
func (s *Sink) connect(conn net.Conn, wasFailing bool) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
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
			return // run waits for the disc signal
		}
	}
	s.flush(^uint64(0))
	if s.cfg.onConnect != nil {
		s.cfg.onConnect()
	}
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
			if sc != nil {
				// A frame may answer a wait for the ring's
				// acknowledgement with news the waiter read there
				// already (the writer took the wait just as it published
				// them): the waiters look at the ring again and ask
				// anew, or the next acknowledgement would come with no
				// frame and leave them waiting. (Without a ring,
				// ackedLocked wakes them when records are released.)
				s.cond.Broadcast()
			}
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
				crand.Read(s.session[:]) // never fails (crypto/rand)
			}
		default:
			s.reportLocked(fmt.Errorf("unexpected control frame %T from the writer", m))
		}
		s.mu.Unlock()
	}
}
