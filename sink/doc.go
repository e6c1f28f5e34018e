// Package sink is the client side of logfanin: a zapcore.WriteSyncer (and
// a zapcore.Core) that sends every record, whole, to a logfanin writer
// process over a Unix stream socket, a Unix datagram socket or an
// inherited pipe.
//
//	core, s, err := sink.NewCore("unix:///run/app.sock", zapcore.InfoLevel)
//	logger := zap.New(core)
//	defer s.Close()
//
// Every call to Write is one record, as zap and log/slog's JSON handler
// make them. A Sink is safe for use by many goroutines, and the records of
// one goroutine keep their order.
//
// # Addresses
//
//   - unix://PATH: stream socket. Every record is one length-prefixed
//     frame. Acknowledgements are on by default (see below), and with them
//     the frames travel through a shared ring (see below).
//   - unixgram://PATH: datagram socket, one datagram per record. The Sink
//     raises SO_SNDBUF, but Linux still caps a datagram at the send buffer
//     (net.core.wmem_max, doubled) less 32 bytes, about 416 KiB with the
//     default sysctl: the record limit is lowered to that, and a larger
//     record is refused by Write, never torn. A record the kernel refuses
//     anyway (EMSGSIZE) is reported and counted in Stats().Oversize.
//   - fd:N: an inherited pipe shared with other processes. Records are
//     cut into chunks of at most the system's PIPE_BUF (4096 bytes on
//     Linux, 512 on macOS and the BSDs), each written with one write(2), so the kernel never interleaves them with other writers'
//     chunks. All Sinks of a process on one descriptor share one lock, so
//     that the chunks of one record are written before the next record of
//     the process starts. Records go straight to the pipe (the pipe is the
//     buffer); with the Drop policy a record is dropped when the pipe is
//     full. Close does not close the descriptor.
//   - "" (empty): the address in the environment variable LOGFANIN_ADDR,
//     which the logfanin sidecar sets for the processes it runs.
//
// # The zap sink scheme
//
// Importing the package registers the zap sink scheme "logfanin", so that
//
//	zap.Config{OutputPaths: []string{"logfanin:///run/app.sock?policy=drop"}}
//
// works; see ParseURL for the options. A Sink opened by zap this way is
// never closed by zap: call logger.Sync() before the process exits.
//
// # Buffering, reconnection and backpressure
//
// While the writer is away the Sink reconnects with jittered exponential
// backoff (WithBackoff) and holds records in a buffer bounded in bytes
// (WithBufferSize). When the buffer is full Write blocks (Block, the
// default) or discards the record (Drop). Drops are counted exactly in
// Stats().Dropped, and before the next record the Sink queues one record
// of its own,
//
//	{"level":"warn","ts":…,"logger":"logfanin","msg":"logfanin: records dropped","dropped":N,"pid":…}
//
// with the number of drops since the last such record, so the count
// reaches the output.
//
// # Acknowledgements and replay
//
// On a stream socket the Sink by default opens every connection with a
// hello that asks for acknowledgements (WithAck). The session id in it is
// random and fixed for the life of the Sink; records carry implicit
// sequence numbers, FirstSeq, FirstSeq+1, … after each hello. Records
// stay in the buffer until the writer acknowledges that it wrote them to
// its output, so with the Block policy no record is lost when the writer
// restarts or crashes: after reconnecting the Sink replays every
// unacknowledged record, in order, before new ones. A record may then
// reach the writer twice, always with the same (session, sequence), which
// the writer uses to write it once. The session belongs to the Sink's
// process: the writer refuses a hello for it from any other process, and
// prints only a digest of the id, so a reader of the output can't take
// the session over. Should a writer refuse the id anyway (another process
// opened a session of that id first after a writer restart), the Sink
// takes a new id and replays under it: nothing is lost, though a reader
// can't pair those records with earlier copies.
// The buffer bounds sent-but-unacknowledged
// records too, so a slow writer slows Write down (Block) or causes drops
// (Drop). Sync waits for the acknowledgement of every record written
// before it. Without acknowledgements, records in the socket buffer when
// the writer dies are lost without being counted.
//
// # The shared ring
//
// On Linux a unix:// connection with acknowledgements creates a ring of
// DefaultSharedMemory bytes (WithSharedMemory) in a sealed memfd and
// passes it with the hello. Write then copies the record's frame into
// memory the writer reads, in the calling goroutine, and returns; the
// socket carries a one-byte wake-up only when the writer has nothing left
// to read and sleeps. Under load that is no system call per record on
// either side, which makes fan-in faster than every process writing the
// file itself. Nothing else changes: while connected, once the writer has
// taken the ring (its first space notice, one round trip after the hello),
// a record is in the ring when Write returns (without WithBatch), out of
// the process's hands as after a write(2) on the socket; the writer
// acknowledges what it wrote, and the Sink replays the rest after a
// reconnection. A writer that refuses the ring (an old writer, or one
// run with -max-ring 0) closes the first connection with a protocol
// error; the Sink reports it and from then on uses the socket.
//
// # Batching
//
// By default every record is handed over as Write is called: copied into
// the shared ring, or sent with its own write(2) on a socket without one,
// from the calling goroutine, as soon as the writer is connected and
// earlier records are out. WithBatch coalesces records into one hand-over
// after at most the given delay, or when 64 KiB are waiting.
//
// # Fallback
//
// WithFallback names a file that takes the records, in direct mode
// (package atomicwrite), while the writer can't be reached: from the
// first failed connection attempt until a connection succeeds. When the
// fallback takes over, the records held in the buffer (unsent or
// unacknowledged) are written to the file first, in order, so nothing is
// held in memory indefinitely; an unacknowledged record may thus appear in
// both outputs. Records still held when Close gives up also go to the
// fallback file. On a pipe the fallback takes over for good when the pipe
// breaks.
//
// The fallback file keeps the output's promise: every record, and every
// drop notice, becomes exactly the line the writer writes for it, without
// the fields only the writer has (peer credentials, session and sequence):
// one line of valid JSON, a JSON object as it came (compacted onto one line
// if it spans several), anything else wrapped as {"msg":"…"} with its
// newlines escaped, the final newline added when the record has none. A
// JSON-lines reader reads it as it reads the writer's output. The file is
// created with DefaultFallbackPerm (0600), as the writer creates its
// output; pass atomicwrite.WithPerm to WithFallback for another.
//
// # Errors
//
// Failures inside the Sink (lost connections, unreachable writer, error
// frames from the writer, fallback write failures) are written to the
// error output (WithErrorOutput, standard error by default) and counted
// in Stats().Errors; they never go back into the logger.
package sink
