// Package wire is the one implementation of the logfanin wire formats,
// used by the client (package sink) and the server (package writer) alike.
//
// # Stream frames
//
// On a Unix stream socket every record travels as a frame:
//
//	uint32 big-endian length N | N bytes: one record
//
// The high bit of the length marks a control frame (hello, ack, space,
// error) instead of a record; see [Hello], [Ack], [Space] and [ErrorFrame].
// A record is never longer than the configured maximum
// ([DefaultMaxRecord] unless changed), which keeps the high bit free.
//
// # Pipe chunks
//
// Many processes may share one pipe. A write(2) of at most [PipeBuf] bytes
// to a pipe is atomic, so a record is cut into chunks of at most PipeBuf
// bytes, each written with one write(2) and carrying a 16-byte header
// ([ChunkHeader]): magic, version, flags (first, last), payload length,
// sender pid, record id and a header check. A [ChunkReader] reassembles
// records per sender, resynchronises after garbage, and discards (and
// counts) the fragments of senders that died half way.
//
// # Datagrams
//
// On a Unix datagram socket every datagram is one record; there is no
// framing.
//
// The complete specification, written so that a client in any language can
// be built from it, is docs/PROTOCOL.md in the repository.
package wire
