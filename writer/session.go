package writer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// A session has one connection at a time that acknowledges (its acker).
// Its connections are read one after the other, in the order of their
// hellos: a reconnecting client's new connection starts reading, and
// becomes the owner, once the one before has been read to its end (see
// conn.awaitPrevious); the old connection's ack loop then ends, as the
// new one acknowledges for both.
//
// A session belongs to the process that opened it: the kernel's
// credentials of its first connection (uid, and pid where the platform
// gives it: peerCredFrom) are
// bound to it, and a hello for the session from any other peer is refused
// (errSessionOwned) before it can touch the session: it cuts no
// connection off and consumes no sequence. The id printed in the output
// is not the id that opens the session but a digest of it (see
// appendStampID), so a process that can read the output learns nothing it could
// join a session with, even after a writer restart, when the first hello
// of a session id binds it anew.

// errSessionOwned refuses a hello for a session that another process owns.
var errSessionOwned = errors.New("the session belongs to another process")

// peerID names the process at the other end of a connection, as the kernel
// tells it. Without credentials (a listener that is not a Unix socket) it
// is the zero value, and sessions are protected by their unguessable id
// alone.
type peerID struct {
	known    bool
	pid, uid uint32
}

// maxSessions bounds the sessions remembered; beyond it, sessions without
// a connection are forgotten.
const maxSessions = 1 << 16

type session struct {
	id           [wire.SessionIDSize]byte
	owner        peerID               // the process that opened the session
	acceptedNext atomic.Uint64        // highest sequence accepted + 1 (0: none)
	writtenNext  atomic.Uint64        // highest sequence written + 1 (0: none)
	gaveUp       bool                 // records were given up on: acks stop there (output goroutine only)
	acker        atomic.Pointer[conn] // the connection that acknowledges
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
	if c := ss.acker.Load(); c != nil {
		c.written()
	}
}

// join returns the session with id, made if new and then owned by c's
// peer, with c as its latest connection, and the connection that was
// latest before c, if any. A session owned by another peer is not joined:
// errSessionOwned. Under s.mu, so that a session is never forgotten while
// a connection joins it.
func (s *Server) join(id [wire.SessionIDSize]byte, c *conn) (*session, *conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.sessions[id]; ss != nil {
		if ss.owner != c.peerID {
			return nil, nil, errSessionOwned
		}
		return ss, ss.latest.Swap(c), nil
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
	ss := &session{id: id, owner: c.peerID}
	ss.prefix = append(ss.prefix, `,"logfanin_sid":"`...)
	ss.prefix = appendStampID(ss.prefix, id)
	ss.prefix = append(ss.prefix, `","logfanin_seq":`...)
	ss.latest.Store(c)
	s.sessions[id] = ss
	return ss, nil, nil
}

// stampIDSize is the number of bytes of the digest printed as
// "logfanin_sid": 64 bits tell a writer's sessions apart for a reader that
// deduplicates, and the line stays short.
const stampIDSize = 8

// appendStampID appends the session's printed id: the first stampIDSize
// bytes of the SHA-256 of the session id, in hex. It is the same for the
// same session id across writers, so replayed copies match, and it does
// not reveal the id: reading the output gives nothing to open a session
// with.
func appendStampID(dst []byte, id [wire.SessionIDSize]byte) []byte {
	sum := sha256.Sum256(id[:])
	return hex.AppendEncode(dst, sum[:stampIDSize])
}
