package writer

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// Defaults of the options.
const (
	DefaultMaxRecord      = 1 << 20          // WithMaxRecord
	DefaultIdleTimeout    = 30 * time.Second // WithIdleTimeout
	DefaultBatchSize      = 256 << 10        // WithBatchSize
	DefaultQueueBytes     = 8 << 20          // WithQueueBytes
	DefaultSocketMode     = 0o600            // WithSocketMode
	DefaultMaxFrameMemory = 64 << 20         // WithMaxFrameMemory
	DefaultMaxRing        = 1 << 20          // WithMaxRing
)

// MaxRecordLimit is the largest record limit WithMaxRecord takes: stream
// frame lengths have 31 bits.
const MaxRecordLimit = 1<<31 - 1

// An Option configures a Server. Options are made by the With… functions of
// this package.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	maxRecord   int
	peerCred    bool
	socketMode  os.FileMode
	socketGroup int // -1: leave the group alone
	batchSize   int
	queueBytes  int
	diag        io.Writer
	idleTimeout time.Duration
	chunk       wire.ChunkConfig
	maxBuffered int
	maxRing     int             // 0: shared rings refused
	allowUIDs   map[uint32]bool // nil: everyone the socket's mode lets in
	errs        []error         // options given bad values
}

// bad records an option given a bad value: New keeps the Server from
// serving with it (Listen, the Add methods and Start return the error).
func (c *config) bad(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("writer: "+format, args...))
}

func defaultConfig() config {
	return config{
		maxRecord:   DefaultMaxRecord,
		socketMode:  DefaultSocketMode,
		socketGroup: -1,
		batchSize:   DefaultBatchSize,
		queueBytes:  DefaultQueueBytes,
		diag:        os.Stderr,
		idleTimeout: DefaultIdleTimeout,
		maxBuffered: DefaultMaxFrameMemory,
		maxRing:     DefaultMaxRing,
	}
}

// WithMaxRecord sets the largest record accepted, in bytes
// (DefaultMaxRecord, 1 MiB; at most MaxRecordLimit). Larger stream records
// close their connection with an error frame; larger datagrams and pipe
// records are discarded. Every case is counted in Stats.TooLarge.
func WithMaxRecord(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 || n > MaxRecordLimit {
			c.bad("WithMaxRecord(%d): want 1 to %d", n, MaxRecordLimit)
			return
		}
		c.maxRecord = n
	})
}

// WithPeerCred stamps every stream and datagram record with the sender's
// pid, uid and gid as the kernel reports them (SO_PEERCRED at accept,
// SCM_CREDENTIALS per datagram), as the fields "peer_pid", "peer_uid" and
// "peer_gid" at the end of the object, where a last-wins JSON reader takes
// them over any the client wrote itself. Pipe records, for which the kernel
// reports nothing, get the sender pid from the chunk header as "pipe_pid",
// which the sender chose and so is not to be trusted. Off by default.
func WithPeerCred(on bool) Option {
	return optionFunc(func(c *config) { c.peerCred = on })
}

// WithSocketMode sets the permissions of socket files created by Listen
// (DefaultSocketMode, 0600: only the writer's user may connect).
func WithSocketMode(mode os.FileMode) Option {
	return optionFunc(func(c *config) { c.socketMode = mode.Perm() })
}

// WithSocketGroup sets the group of socket files created by Listen; use it
// with a mode such as 0660 to let a group connect. By default the group is
// left as created.
func WithSocketGroup(gid int) Option {
	return optionFunc(func(c *config) { c.socketGroup = gid })
}

// WithBatchSize sets how many bytes of records the output gathers into one
// Write (DefaultBatchSize, 256 KiB). A record larger than the batch is
// written alone; a record is never split between two writes.
func WithBatchSize(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.bad("WithBatchSize(%d): want a positive size", n)
			return
		}
		c.batchSize = n
	})
}

// WithQueueBytes caps the memory holding records between the readers and
// the output (DefaultQueueBytes, 8 MiB). When it is full, readers stop
// reading, which pushes back onto the senders.
func WithQueueBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.bad("WithQueueBytes(%d): want a positive size", n)
			return
		}
		c.queueBytes = n
	})
}

// WithDiagnostics sets where the writer reports its own errors, one line
// each (os.Stderr). Diagnostics never go into the output. Lines about bad
// input are rate limited.
func WithDiagnostics(w io.Writer) Option {
	return optionFunc(func(c *config) {
		if w == nil {
			w = io.Discard
		}
		c.diag = w
	})
}

// WithIdleTimeout sets how long a stream connection may stay inside a frame
// without completing it (DefaultIdleTimeout, 30 s) before it is closed
// with an error frame, and how long an unfinished pipe record may wait for
// its next chunk before it is discarded. A connection idle between frames is
// never closed.
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.bad("WithIdleTimeout(%v): want a positive duration", d)
			return
		}
		c.idleTimeout = d
	})
}

// WithMaxFrameMemory caps the memory of stream frames in flight that do
// not fit a connection's 64 KiB read buffer, all connections together
// (DefaultMaxFrameMemory, 64 MiB). A connection whose next frame needs more
// waits, without reading, until the memory is free; if it waits longer than
// the idle timeout it is closed as idle. A frame larger than the whole
// budget is read when no other large frame is in flight. See "Memory" in
// the package documentation for the bound this gives.
func WithMaxFrameMemory(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.bad("WithMaxFrameMemory(%d): want a positive size", n)
			return
		}
		c.maxBuffered = n
	})
}

// WithMaxRing sets the largest shared ring a client may pass with its hello
// (DefaultMaxRing, 1 MiB; see docs/PROTOCOL.md), 0 to refuse shared rings.
// A refused client falls back to sending through the socket. The ring's
// pages belong to the client, but those the writer has read count in its
// resident size: up to this much per connection.
func WithMaxRing(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.bad("WithMaxRing(%d): want 0 (no rings) or a size", n)
			return
		}
		c.maxRing = n
	})
}

// WithAllowUIDs lets only senders running as one of uids in: a stream
// connection from any other uid (SO_PEERCRED) gets an error frame (code 3,
// refused; docs/PROTOCOL.md) and is closed, a datagram from any other uid
// (SCM_CREDENTIALS) is dropped; both count in Stats.Refused. By default
// (no call, or an empty list) anyone the socket file's mode lets connect
// is accepted. Pipes and line sources are not affected: their writers are
// the processes the pipe was handed to.
func WithAllowUIDs(uids ...uint32) Option {
	return optionFunc(func(c *config) {
		if len(uids) == 0 {
			c.allowUIDs = nil
			return
		}
		c.allowUIDs = make(map[uint32]bool, len(uids))
		for _, u := range uids {
			c.allowUIDs[u] = true
		}
	})
}
