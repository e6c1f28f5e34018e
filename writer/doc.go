// Package writer is the logfanin fan-in server as a library: it reads
// records from many processes and writes them, one JSON line each, to one
// output. The sidecar binary cmd/logfanin is a thin shell over it.
//
// # Inputs
//
// A Server reads from any number of inputs at once:
//
//   - Unix stream sockets (Listen("unix://PATH"), AddListener): records in
//     length-prefixed frames (docs/PROTOCOL.md), one goroutine per
//     connection. A connection may open with a hello asking for acks, and
//     with them for a shared ring: the client passes a sealed memfd with
//     the hello and copies its frames into it, the socket carrying only
//     wake-ups (on Linux; WithMaxRing bounds its size).
//   - Unix datagram sockets (Listen("unixgram://PATH"), AddPacketConn): one
//     record per datagram; a syslog header is parsed into fields, so
//     logger(1) and Python's SysLogHandler work unchanged.
//   - Pipes (Listen("fd:N"), AddPipe, AddPipeEnds): records cut into
//     chunks that many processes write to one shared pipe, reassembled per
//     sender.
//   - Line sources (AddLines, and AddLinesFrom for the lines of a process
//     the caller vouches for): each line is a record, such as a child
//     process's standard output.
//
// Inputs serve from the moment they are added, and the first one starts
// the output goroutine.
//
// # Output
//
// One goroutine owns the Output. Readers format records into pooled blocks
// and hand them over; the output goroutine gathers them into a batch of up
// to WithBatchSize bytes and writes the batch with one Write as soon as no
// more records are waiting. A record is never split between two writes,
// and the records of one sender are never reordered. Memory between the
// readers and the output is bounded (WithQueueBytes); when it is full the
// readers stop reading and the senders feel the backpressure. A failing
// Write (a full disk) is retried with backoff, never dropped, until it
// succeeds or Shutdown gives up.
//
// Every record becomes one line of valid JSON: a JSON object is written as
// it came (compacted if it spans lines), anything else is wrapped as
// {"msg":"…"}; the sink writes its fallback file with the same code.
// Fields the writer adds go at the end of the object, where a last-wins
// JSON reader sees them over any the sender forged:
//
//	peer_pid, peer_uid, peer_gid   WithPeerCred: the kernel's word on the sender (stream, datagram), or the Peer given to AddLinesFrom
//	pipe_pid                       WithPeerCred: the pid a pipe sender put in its chunks (not to be trusted)
//	logfanin_sid, logfanin_seq     ack mode: a digest of the session id (16 hex digits) and the record's sequence number
//	stream                         the name given to AddLines
//
// These names are the writer's on every input, the rule being: a record's
// last occurrence of each of them is the writer's value, or null. Where
// the writer has no value for one on an input (peer fields on the shared
// pipe, which no kernel vouches for; a session on a connection without
// acknowledgements) and the sender's object has it at its top level,
// under any spelling, the writer appends "name":null. A sender can't use
// these names for fields of its own.
//
// Syslog records carry time, level, facility, host, app, procid, msgid and
// sd before msg. A syslog message whose text is a JSON object (with or
// without rsyslog's "@cee:" cookie) is that object instead, followed by
// the header's fields it does not have: its own "time" or "level" win.
//
// # Memory
//
// The writer's memory is bounded whatever its clients send. It holds at most
//
//	WithQueueBytes (8 MiB)                                   records between the readers and the output
//	+ 2 × WithMaxFrameMemory (64 MiB)                        stream frames over 64 KiB in flight, and their formatting
//	+ 136 KiB per open stream connection                     a 64 KiB read buffer, up to 64 KiB of formatting scratch, a stack
//	+ WithMaxRing (1 MiB) per connection with a shared ring  the pages of the ring it has read (the client's memfd; pages the writer touches first are charged to it)
//	+ 16 MiB per pipe                                        unfinished pipe records
//	+ 2 × WithMaxRecord per datagram socket                  its receive buffer and scratch
//	+ WithBatchSize (256 KiB)                                the output batch
//
// plus the Go runtime's own overhead. A connection whose next frame does
// not fit its 64 KiB buffer waits, without reading, for its share of
// WithMaxFrameMemory; a thousand clients that each announce a 1 MiB record and
// send it slowly hold the budget, not a gigabyte, and clients whose records
// fit 64 KiB never wait for it. The count of connections is bounded by the
// process's descriptor limit (ulimit -n).
//
// # Security
//
// The writer never executes or interprets record content beyond parsing
// it: a record is checked for being a JSON object, compacted or escaped,
// and written; syslog headers are parsed into fields. Nothing in a record
// selects a file, a command, a format string or a field the writer trusts.
//
//   - Socket files are created with WithSocketMode (0600: only the writer's
//     user) and WithSocketGroup before they appear at their path, and a
//     stale socket is replaced only after a probe finds no live writer
//     answering on it.
//   - Paths are not followed through another user's symbolic links: an
//     output or socket path, or its directory, that is a symbolic link owned
//     by a user other than the writer's effective uid or root is refused,
//     and so is a directory that others can write to without the sticky
//     bit. A socket path that is a symbolic link is refused whoever owns
//     it (see FileOutput).
//   - WithPeerCred stamps records with the kernel's word on the sender,
//     and WithAllowUIDs refuses senders by uid.
//   - Bad input (oversized lengths up to 4 GiB, truncated frames, garbage,
//     stalled frames, forged pipe chunk headers) closes that connection or
//     drops that record with a counter in Stats and a rate-limited line in
//     the diagnostics; it never reaches the output torn and never slows
//     other clients beyond its share of the memory budgets.
//
// # Lifecycle
//
// Reopen reopens the output between two batches (SIGHUP after logrotate).
// Shutdown stops accepting, waits for every input to reach its end, writes
// what remains and closes the output; when its context expires it stops
// the inputs without losing what they have received whole (a line source
// it can neither interrupt nor close is left to its reader, and what that
// reads later is counted as lost). Stats counts everything, cheaply.
//
// # Platforms
//
// Linux has everything. On macOS and FreeBSD the writer serves stream and
// datagram sockets, pipes and line sources alike, and WithPeerCred takes
// what the platform gives: LOCAL_PEERCRED (uid, gid) and, on macOS,
// LOCAL_PEERPID for stream connections; datagrams carry no credentials
// there (the Server says so in its diagnostics, and WithAllowUIDs refuses
// to serve a datagram socket). Shared rings need Linux's sealed memfd:
// elsewhere a hello asking for one is refused and the client sends
// through the socket.
package writer
