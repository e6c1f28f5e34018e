package sink

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
)

// Policy says what Write does when the buffer is full.
type Policy int

const (
	// Block, the default, makes Write wait until the record fits in the
	// buffer or the Sink is closed. With acknowledgements on, no record
	// is lost across a writer restart.
	Block Policy = iota
	// Drop discards a record that does not fit. Drops are counted exactly
	// in Stats().Dropped and reported to the output by a record of their
	// own (see the package documentation).
	Drop
)

// String returns the name used in sink URLs: "block" or "drop".
func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Defaults of the options.
const (
	// DefaultBufferSize bounds the bytes of records held while the writer
	// is away or has not acknowledged them yet.
	DefaultBufferSize = 4 << 20
	// DefaultMinBackoff and DefaultMaxBackoff bound the delay between
	// reconnection attempts; the delay doubles after each failure and is
	// jittered.
	DefaultMinBackoff = 10 * time.Millisecond
	DefaultMaxBackoff = time.Second
	// DefaultDialTimeout bounds one connection attempt.
	DefaultDialTimeout = 2 * time.Second
	// DefaultCloseTimeout bounds how long Close waits for buffered records
	// to be delivered.
	DefaultCloseTimeout = 5 * time.Second
	// DefaultMaxRecord is the largest record Write accepts, 1 MiB, the
	// writer's default limit too.
	DefaultMaxRecord = 1 << 20
	// DefaultSharedMemory is the size of the shared ring of a stream
	// connection on Linux.
	DefaultSharedMemory = 256 << 10
)

// batchBytes is the size at which a batch is sent without waiting for
// the batch delay (WithBatch).
const batchBytes = 64 << 10

// The environment a process started by the logfanin sidecar finds, and
// New reads when given no address.
const (
	// EnvAddr holds the writer's address, such as unix:///run/app.sock:
	// what New("") connects to.
	EnvAddr = "LOGFANIN_ADDR"
	// EnvPipe holds the shared pipe the sidecar passes its command, as
	// fd:N: New(os.Getenv(EnvPipe)) writes to it.
	EnvPipe = "LOGFANIN_PIPE"
)

// An Option configures a Sink. Options are made by the With functions.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	policy       Policy
	bufferSize   int
	maxRecord    int
	ack          int // 0 default, 1 on, -1 off
	shm          int // shared ring size; 0 default, -1 off
	batch        time.Duration
	fallback     string
	fallbackOpts []atomicwrite.Option
	errOut       io.Writer
	minBackoff   time.Duration
	maxBackoff   time.Duration
	dialTimeout  time.Duration
	closeTimeout time.Duration
	onConnect    func()
	pipeChunk    int // chunk size on a pipe: this system's PIPE_BUF
}

func newConfig(opts []Option) config {
	c := config{
		bufferSize:   DefaultBufferSize,
		maxRecord:    DefaultMaxRecord,
		errOut:       os.Stderr,
		minBackoff:   DefaultMinBackoff,
		maxBackoff:   DefaultMaxBackoff,
		dialTimeout:  DefaultDialTimeout,
		closeTimeout: DefaultCloseTimeout,
		pipeChunk:    wire.PipeBuf,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

func (c *config) validate() error {
	switch {
	case c.policy != Block && c.policy != Drop:
		return fmt.Errorf("sink: unknown policy %v", c.policy)
	case c.bufferSize <= wire.FrameHeaderSize:
		return fmt.Errorf("sink: buffer size %d too small", c.bufferSize)
	case c.maxRecord <= 0 || c.maxRecord > wire.MaxRecordLimit:
		return fmt.Errorf("sink: max record %d out of range 1…%d", c.maxRecord, wire.MaxRecordLimit)
	case c.batch < 0:
		return fmt.Errorf("sink: negative batch delay %v", c.batch)
	case c.minBackoff <= 0 || c.maxBackoff < c.minBackoff:
		return fmt.Errorf("sink: bad backoff %v…%v", c.minBackoff, c.maxBackoff)
	case c.dialTimeout <= 0:
		return fmt.Errorf("sink: dial timeout %v must be positive", c.dialTimeout)
	case c.closeTimeout < 0:
		return fmt.Errorf("sink: negative close timeout %v", c.closeTimeout)
	case c.shm > 0 && !shmring.ValidSize(c.shm):
		return fmt.Errorf("sink: shared ring size %d is not a power of two between %d and %d", c.shm, shmring.MinSize, shmring.MaxSize)
	}
	return nil
}

// WithPolicy sets what Write does when the buffer is full (Block).
func WithPolicy(p Policy) Option {
	return optionFunc(func(c *config) { c.policy = p })
}

// WithBufferSize bounds the bytes (frame headers included) of records held
// while the writer is away and, with acknowledgements, of records sent but
// not yet acknowledged (DefaultBufferSize). A record larger than the buffer
// can never be held, so the record limit is at most the buffer size less
// the 4-byte frame header.
func WithBufferSize(bytes int) Option {
	return optionFunc(func(c *config) { c.bufferSize = bytes })
}

// WithMaxRecord sets the largest record Write accepts (DefaultMaxRecord).
// A larger record is refused with a *SizeError (errors.Is(err,
// ErrTooLarge)), counted in Stats().Oversize, and never sent.
func WithMaxRecord(n int) Option {
	return optionFunc(func(c *config) { c.maxRecord = n })
}

// WithAck turns acknowledgements and replay on or off. Only stream
// sockets (unix://) support them, and there they are on by default.
func WithAck(on bool) Option {
	return optionFunc(func(c *config) {
		c.ack = -1
		if on {
			c.ack = 1
		}
	})
}

// WithSharedMemory sets the size of the shared ring that carries the
// records of a unix:// connection with acknowledgements: a power of two
// between 4 KiB and 16 MiB, DefaultSharedMemory (256 KiB) by default on
// Linux. Zero turns the ring off, and records go through the socket, one
// write(2) each.
//
// With the ring, Write copies the record into memory shared with the
// writer and returns without a system call while the writer is busy;
// the socket carries only a wake-up when the writer sleeps, and the
// writer's acknowledgements come through the ring too, read when the
// buffer fills or Sync, Close or Stats asks, so that they don't wake the
// process up. The guarantees
// are unchanged: the records are acknowledged and replayed as on the
// socket, and once the writer has taken the ring (one round trip after
// connecting; until then records wait in the buffer) a record Write has
// returned for survives the death of the process, as one written to the
// socket does. The ring's memory is charged to this process.
func WithSharedMemory(size int) Option {
	return optionFunc(func(c *config) {
		c.shm = size
		if size == 0 {
			c.shm = -1
		}
	})
}

// WithBatch coalesces records and sends them in one write after at most
// maxDelay, or sooner when 64 KiB are waiting. Sync sends at once. Zero,
// the default, sends every record with its own write as Write is called.
func WithBatch(maxDelay time.Duration) Option {
	return optionFunc(func(c *config) { c.batch = maxDelay })
}

// WithFallback names a file that records go to, in direct mode through
// atomicwrite, while the writer can't be reached: from the first failed
// connection attempt until a connection succeeds again. Records already
// buffered when the fallback takes over are written to the file first, in
// order, so nothing is held in memory indefinitely. Each record is written
// as the one line of JSON the writer would write for it. The file is
// created with DefaultFallbackPerm (0600) unless opts set another
// (atomicwrite.WithPerm).
func WithFallback(path string, opts ...atomicwrite.Option) Option {
	return optionFunc(func(c *config) {
		c.fallback = path
		c.fallbackOpts = opts
	})
}

// WithErrorOutput sets where the Sink reports its own errors (standard
// error). They never go back into the logger. w is written one line at a
// time, never concurrently, and synced after each line if it has a
// Sync() error method.
func WithErrorOutput(w io.Writer) Option {
	return optionFunc(func(c *config) { c.errOut = w })
}

// WithBackoff bounds the delay between reconnection attempts
// (DefaultMinBackoff, DefaultMaxBackoff).
func WithBackoff(min, max time.Duration) Option {
	return optionFunc(func(c *config) { c.minBackoff, c.maxBackoff = min, max })
}

// WithDialTimeout bounds one connection attempt (DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.dialTimeout = d })
}

// WithCloseTimeout bounds how long Close waits for buffered records to
// reach the writer (DefaultCloseTimeout). Zero makes Close give up at once
// on whatever is not delivered yet.
func WithCloseTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.closeTimeout = d })
}
