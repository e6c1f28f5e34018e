package forward

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/logfanin/logfanin/writer"
)

// Config describes what to forward where. Path and URL are required; the
// zero value of every other field is its documented default.
type Config struct {
	// URL is the receiver: otlp://HOST:PORT (OTLP/gRPC), otlps://HOST:PORT
	// (over TLS), otlp+http://HOST:PORT[/PATH] (OTLP/HTTP, protobuf) or
	// otlp+https://HOST:PORT[/PATH].
	URL string
	// Path is the log file a writer.FileOutput writes, with the
	// Forwarder as its FileConfig.Watcher.
	Path string
	// Checkpoint is where the position is stored (default
	// DefaultCheckpoint(Path)).
	Checkpoint string

	TLS      TLSConfig         // for otlps:// and otlp+https://
	Headers  map[string]string // sent with every export, such as an API key
	Resource map[string]string // resource attributes (default service.name "logfanin" and host.name)

	MaxBatch      int // records in one export (default 1024)
	MaxBatchBytes int // bytes of lines in one export (default 1 MiB; a longer line goes alone)
	// MaxInFlight is how many exports may wait for the receiver's answer
	// at once (default 4). The checkpoint still advances in order, past
	// a batch only once it and every batch before it were answered, so a
	// crash sends again at most this many batches; the receiver may get
	// them in another order. 1 sends one batch at a time, in order, and
	// maps the next while it waits. Each batch in flight, and the one
	// being mapped, is held in memory as OTLP records: about 1 MiB for
	// 1024 records of 200 bytes.
	MaxInFlight int
	Timeout     time.Duration // for one export (default 10 s)
	MinBackoff  time.Duration // first wait after a retryable failure (default 100 ms)
	MaxBackoff  time.Duration // longest wait between retries (default 30 s)

	// Diagnostics receives one line per problem: a failed export, a
	// rejection, a backup removed before it was shipped (default
	// os.Stderr). Each line is one Write, never two at once.
	Diagnostics io.Writer
}

// Forwarder ships the lines of a log file, through its rotations, to an
// OTLP logs receiver, at least once: a checkpoint (the file, by identity,
// and the offset in it) is stored atomically after the receiver answered a
// batch and every batch before it, and never before, so that after a
// crash the batches in flight (Config.MaxInFlight at most) are sent again
// and nothing else. Retryable failures are retried with backoff, forever;
// permanent rejections and the records a partial success rejected are
// counted and skipped.
//
// The Forwarder learns of rotations from the writer.FileOutput it watches
// (FileConfig.Watcher), before the file is renamed, and stores the backup's
// name in the checkpoint then, so that it finds the file again after a
// crash, compressed or not. A backup removed (-max-backups, -max-age)
// before it was shipped whole is counted in Stats and reported, never
// skipped silently.
//
// New, Start and Close are called once each, in that order; Stats may be
// called at any time, and Wrote and Rotating by the output goroutine.
type Forwarder struct {
	cfg      Config
	endpoint Endpoint
	client   client
	resource pcommon.Map
	diagMu   sync.Mutex // one diagnostic line at a time
	diag     io.Writer
	scan     scanner  // maps lines to records; used by run only
	flight   []*batch // sent and not yet committed, oldest first; used by run only

	mu       sync.Mutex // guards st, caughtUp and saving the checkpoint
	st       state
	caughtUp time.Time // when it last had shipped all that was written
	behind   bool
	lastDone [2]uint64 // device and inode of the file last shipped whole
	synced   time.Time // when the checkpoint was last synced
	unsynced bool      // saved since it was last synced
	resumed  bool      // the checkpoint's first file was opened once

	wake    chan struct{} // a write or a rotation happened
	stop    chan struct{} // closed by Close: finish once caught up
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
	closed  bool

	forwarded, batches, retries, rejected atomic.Uint64
	prunedFiles, prunedBytes              atomic.Uint64
}

var _ writer.FileWatcher = (*Forwarder)(nil)

// Defaults of Config.
const (
	DefaultMaxBatch      = 1024
	DefaultMaxBatchBytes = 1 << 20
	DefaultMaxInFlight   = 4
	DefaultTimeout       = 10 * time.Second
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
)

// New checks cfg, reads the checkpoint and prepares the client; it sends
// nothing until Start. A bad URL, unreadable TLS material or a checkpoint
// it cannot read is an error.
func New(cfg Config) (*Forwarder, error) {
	ep, err := ParseEndpoint(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, errors.New("forward: no log file")
	}
	cfg.Path = filepath.Clean(cfg.Path)
	if cfg.Checkpoint == "" {
		cfg.Checkpoint = DefaultCheckpoint(cfg.Path)
	}
	defaultIfUnset(&cfg.MaxBatch, DefaultMaxBatch)
	defaultIfUnset(&cfg.MaxBatchBytes, DefaultMaxBatchBytes)
	defaultIfUnset(&cfg.MaxInFlight, DefaultMaxInFlight)
	defaultIfUnset(&cfg.Timeout, DefaultTimeout)
	defaultIfUnset(&cfg.MinBackoff, DefaultMinBackoff)
	defaultIfUnset(&cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.Diagnostics == nil {
		cfg.Diagnostics = os.Stderr
	}
	st, err := loadState(cfg.Checkpoint, cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	cl, err := newClient(ep, cfg.TLS, cfg.Headers, cfg.Timeout, cfg.MaxInFlight)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	res := pcommon.NewMap()
	res.PutStr("service.name", "logfanin")
	if h, err := os.Hostname(); err == nil {
		res.PutStr("host.name", h)
	}
	for k, v := range cfg.Resource {
		res.PutStr(k, v)
	}
	return &Forwarder{
		cfg:      cfg,
		endpoint: ep,
		client:   cl,
		resource: res,
		diag:     cfg.Diagnostics,
		st:       st,
		caughtUp: time.Now(),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}, nil
}

// defaultIfUnset sets *v to def if it is zero or negative.
func defaultIfUnset[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Endpoint returns the receiver's parsed URL.
func (f *Forwarder) Endpoint() Endpoint { return f.endpoint }

// Start starts shipping, in a goroutine that Close ends.
func (f *Forwarder) Start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started || f.closed {
		return
	}
	f.started = true
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.run(ctx)
}

// Close ships what is left until it has shipped everything written or ctx
// is done, whichever comes first, then stops; the exports in flight when
// ctx ends are abandoned (they are sent again at the next start). The checkpoint
// is current when Close returns. Call it after the writer has shut down.
// Close is idempotent.
func (f *Forwarder) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	started := f.started
	f.mu.Unlock()
	if started {
		close(f.stop)
		select {
		case <-f.done:
		case <-ctx.Done():
			f.cancel()
			<-f.done
		}
		f.cancel()
	}
	return f.client.close()
}

func (f *Forwarder) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Wrote is told by the FileOutput that n bytes were appended.
func (f *Forwarder) Wrote(n int) { f.poke() }

// Rotating is told by the FileOutput that its file becomes a backup. It
// stores the backup's name in the checkpoint before the rename.
func (f *Forwarder) Rotating(ev writer.RotateEvent) {
	f.mu.Lock()
	i := f.findLive(ev.Dev, ev.Ino)
	if i < 0 {
		f.st.Files = append(f.st.Files, entry{ID: newID(), Dev: ev.Dev, Ino: ev.Ino})
		i = len(f.st.Files) - 1
	}
	f.st.Files[i].Backup = ev.Backup
	f.st.Files[i].Size = ev.Size
	f.saveLocked(true)
	f.mu.Unlock()
	f.poke()
}

// findLive returns the index of the file with this identity in st.Files
// that has not been rotated, or -1. Rotated files are never matched: a
// backup is never rotated again, and the inode of one that was removed
// may be the new live file's. Called with mu held.
func (f *Forwarder) findLive(dev, ino uint64) int {
	for i, e := range f.st.Files {
		if !e.rotated() && e.Dev == dev && e.Ino == ino {
			return i
		}
	}
	return -1
}

// syncEvery is how often at most the checkpoint is synced to disk after
// a batch; before the Forwarder waits (caught up, or backing off) it is
// synced too. Every save is atomic and survives a crash of the process; a
// crash of the machine may take it back by this long (the log file
// itself is not synced either), which only sends records again.
const syncEvery = time.Second

// saveLocked stores the checkpoint, synced if sync or if the last sync
// is syncEvery old; a failure is reported and the next save tries again.
// Called with mu held.
func (f *Forwarder) saveLocked(sync bool) {
	now := time.Now()
	sync = sync || now.Sub(f.synced) >= syncEvery
	if err := f.st.save(f.cfg.Checkpoint, sync); err != nil {
		f.logf("logfanin: forward: %v", err)
		return
	}
	if sync {
		f.synced = now
	}
	f.unsynced = !sync
}

// syncPending syncs the checkpoint if it was saved since its last sync:
// called before a wait, so that an idle Forwarder's checkpoint on disk
// is never older than syncEvery.
func (f *Forwarder) syncPending() {
	f.mu.Lock()
	if f.unsynced {
		f.saveLocked(true)
	}
	f.mu.Unlock()
}

// logf writes one diagnostic line.
func (f *Forwarder) logf(format string, args ...any) {
	f.diagMu.Lock()
	defer f.diagMu.Unlock()
	fmt.Fprintf(f.diag, format+"\n", args...)
}

func newID() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

// identity returns a file's device and inode.
func identity(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
