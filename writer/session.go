package writer

import (
	"encoding/hex"
	"sync/atomic"

	"github.com/logfanin/logfanin/internal/wire"
)

// Ack sessions
//
// A connection that opens with a wire.Hello carrying wire.HelloAck is in
// ack mode: its records carry the sequence numbers FirstSeq, FirstSeq+1, …
// and each is stamped with "logfanin_sid" (the session id in hex) and
// "logfanin_seq", so that readers can drop records a client replayed after
// a writer restart. Within one writer's lifetime a session remembers the
// highest sequence it accepted, and replayed records at or below it are
// skipped (Stats.Duplicates). After each batch write the writer sends the
// connection an ack with the highest sequence written, one ack per batch
// at most; a client with a shared ring that asked for acknowledgements in
// it (wire.HelloRingAck) reads them there instead, and gets an ack frame
// only when it waits for one, and after it stopped sending.
//
// A session has one connection at a time that acknowledges (its owner).
// Its connections are read one after the other, in the order of their
// hellos: a reconnecting client's new connection starts reading, and
// becomes the owner, once the one before has been read to its end (see
// conn.awaitPrevious); the old connection's ack loop then ends, as the
// new one acknowledges for both.

// maxSessions bounds the sessions remembered; beyond it, sessions without
// a connection are forgotten.
const maxSessions = 1 << 16

type session struct {
	id           [wire.SessionIDSize]byte
	acceptedNext atomic.Uint64        // highest sequence accepted + 1 (0: none)
	writtenNext  atomic.Uint64        // highest sequence written + 1 (0: none)
	gaveUp       bool                 // records were given up on: acks stop there (output goroutine only)
	owner        atomic.Pointer[conn] // the connection that acknowledges
	latest       atomic.Pointer[conn] // the last to say hello, until it ends
	prefix       []byte               // ,"logfanin_sid":"…","logfanin_seq":
}

// accept reports whether seq is new to the session, and records it.
func (ss *session) accept(seq uint64) bool {
	for {
		cur := ss.acceptedNext.Load()
		if cur != 0 && seq < cur {
			return false
		}
		if ss.acceptedNext.CompareAndSwap(cur, seq+1) {
			return true
		}
	}
}

// written is called by the output goroutine after a write holding the
// session's records up to seq; ok reports whether all of them were
// written. It wakes the connection that sends the acks. Acks are
// cumulative, so once the writer gave up on some of the session's records
// (a forced shutdown with a failing output) they stop there, even if later
// records are written: the client replays from there to the next writer.
func (ss *session) written(seq uint64, ok bool) {
	ss.gaveUp = ss.gaveUp || !ok
	if ss.gaveUp {
		return
	}
	for {
		cur := ss.writtenNext.Load()
		if seq+1 <= cur || ss.writtenNext.CompareAndSwap(cur, seq+1) {
			break
		}
	}
	if c := ss.owner.Load(); c != nil {
		c.written()
	}
}

// join returns the session with id, made if new, with c as its latest
// connection, and the connection that was latest before c, if any. Under
// s.mu, so that a session is never forgotten while a connection joins it.
func (s *Server) join(id [wire.SessionIDSize]byte, c *conn) (*session, *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[id]; ss != nil {
		return ss, ss.latest.Swap(c)
	}
	if len(s.sessions) >= maxSessions {
		for k, ss := range s.sessions {
			if ss.latest.Load() == nil {
				delete(s.sessions, k)
				if len(s.sessions) < maxSessions*3/4 {
					break
				}
			}
		}
	}
	ss := &session{id: id}
	ss.prefix = append(ss.prefix, `,"logfanin_sid":"`...)
	ss.prefix = hex.AppendEncode(ss.prefix, id[:])
	ss.prefix = append(ss.prefix, `","logfanin_seq":`...)
	ss.latest.Store(c)
	s.sessions[id] = ss
	return ss, nil
}
