package bench

import (
	"time"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/sink"
)

type kind int

const (
	kindZap       kind = iota // zap in one process, every producer a goroutine
	kindRaw                   // pre-encoded write(2) per record, N processes
	kindNaive                 // zap per process on one O_APPEND file
	kindRsyslog               // datagrams to rsyslogd
	kindSidecar               // the logfanin sidecar, through package sink
	kindDirect                // atomicwrite, N processes
	kindFrames                // pre-encoded records, one stream frame per write(2), no hello, N processes
	kindSinkBytes             // pre-encoded records handed to sink.Write, N processes
)

// contender is one way to get records from producers into a file.
type contender struct {
	name   string
	kind   kind
	desc   string
	listen string // sidecar: address scheme ("unix", "unixgram", "fd")
	sink   []sink.Option
	direct []atomicwrite.Option
	safe   bool // promises no missing or torn record
	// obvious: the writer is the obvious fan-in (obvious.go), not the
	// sidecar.
	obvious bool
}

// directRotateSize is the rotation size of the direct-rotate contender:
// small enough that every run of a few seconds rotates.
const directRotateSize = 32 << 20

// BatchDelay is the sink batch delay of the fanin-batch contender.
const BatchDelay = 2 * time.Millisecond

var contenders = []contender{
	{name: "zap", kind: kindZap, desc: "zap in one process, producers are goroutines, zapcore.Lock(*os.File): the no-IPC ideal"},
	{name: "zap-buffered", kind: kindZap, desc: "as zap, through zapcore.BufferedWriteSyncer (256 KiB): the ideal that may lose its buffer on a crash"},
	{name: "raw", kind: kindRaw, desc: "pre-encoded records, one write(2) each, N processes on one O_APPEND file: the system call floor"},
	{name: "naive", kind: kindNaive, desc: "zap from N processes on one O_APPEND file (zapcore.AddSync(*os.File)): what people do today"},
	{name: "rsyslog", kind: kindRsyslog, safe: true, desc: "each record a datagram to rsyslogd (imuxsock, own socket, no rate limit, omfile async buffered, template %rawmsg%)"},
	{name: "fanin", kind: kindSidecar, listen: "unix", safe: true, desc: "logfanin sidecar over unix://, default sink: one frame per record, acks on, frames through the shared ring"},
	{name: "fanin-socket", kind: kindSidecar, listen: "unix", safe: true, sink: []sink.Option{sink.WithSharedMemory(0)}, desc: "as fanin, sink.WithSharedMemory(0): every frame its own write(2) on the socket"},
	{name: "fanin-noack", kind: kindSidecar, listen: "unix", safe: true, sink: []sink.Option{sink.WithAck(false)}, desc: "as fanin, sink.WithAck(false): the plain protocol, one frame per record and write(2), no acknowledgements (records in flight are lost if the writer dies)"},
	{name: "fanin-batch", kind: kindSidecar, listen: "unix", safe: true, sink: []sink.Option{sink.WithBatch(BatchDelay)}, desc: "as fanin, sink.WithBatch(2ms): frames coalesced, bounded delay and buffer, acks on"},
	{name: "fanin-pipe", kind: kindSidecar, listen: "fd", safe: true, desc: "logfanin sidecar over one inherited pipe (fd:N), PIPE_BUF chunks"},
	{name: "fanin-dgram", kind: kindSidecar, listen: "unixgram", safe: true, desc: "logfanin sidecar over unixgram://, one datagram per record"},
	{name: "fanin-frames", kind: kindFrames, listen: "unix", safe: true, desc: "pre-encoded records, each one frame in its own write(2) on the sidecar's stream socket, no hello: what a client in any language does"},
	{name: "obvious-frames", kind: kindFrames, obvious: true, desc: "the fanin-frames producers into an obvious fan-in written as a baseline (goroutine per connection, a mutex around a 64 KiB bufio.Writer, no validation, no bounds)"},
	{name: "fanin-bytes", kind: kindSinkBytes, listen: "unix", safe: true, desc: "pre-encoded records handed to the default sink's Write (the shared ring, acks on): the ring without zap's encoding, as a log/slog JSON handler over the sink would use it"},
	{name: "direct", kind: kindDirect, safe: true, desc: "direct mode (atomicwrite), LockAuto: O_APPEND write(2) up to PIPE_BUF, flock above"},
	{name: "direct-rotate", kind: kindDirect, safe: true, direct: []atomicwrite.Option{atomicwrite.WithMaxSize(directRotateSize)}, desc: "direct mode with cross-process rotation every 32 MiB"},
	{name: "direct-shared", kind: kindDirect, safe: true, direct: []atomicwrite.Option{atomicwrite.WithLocking(atomicwrite.LockShared)}, desc: "direct mode, LockShared: flock(LOCK_SH) on small records"},
	{name: "direct-raw", kind: kindRaw, safe: true, desc: "the raw row's pre-encoded records written through direct mode (atomicwrite.File.Write, LockAuto) instead of write(2): direct mode's own cost, without zap's"},
	{name: "direct-always", kind: kindDirect, safe: true, direct: []atomicwrite.Option{atomicwrite.WithLocking(atomicwrite.LockAlways)}, desc: "direct mode, LockAlways: flock(LOCK_EX) on every record"},
}

// ContenderNames lists every contender, in table order.
func ContenderNames() []string {
	names := make([]string, len(contenders))
	for i, c := range contenders {
		names[i] = c.name
	}
	return names
}

func contenderByName(name string) (contender, bool) {
	for _, c := range contenders {
		if c.name == name {
			return c, true
		}
	}
	return contender{}, false
}
