// Package jsonline is the one implementation of "a record becomes exactly
// one line of JSON", used by the writer for its output and by the sink for
// the lines it writes itself (its fallback file), so that a record reads
// the same wherever it lands.
//
// # The line
//
// Every record becomes exactly one line of JSON, ending in a newline:
//   - A record that is a JSON object is written as it came, minus a trailing
//     newline and surrounding whitespace; one spread over several lines
//     (pretty-printed) is compacted onto one.
//   - Anything else (text, invalid JSON, invalid UTF-8, NUL bytes, several
//     objects) is wrapped as {"msg":"…"}, escaped so that the line is valid
//     JSON; invalid UTF-8 bytes become U+FFFD. One trailing newline is
//     dropped from the text; newlines inside it are escaped.
//   - Fields the caller adds (the writer's peer credentials, ack session
//     and sequence) go at the end of the object, just before the final "}",
//     so that a JSON reader that keeps the last of duplicate keys sees the
//     caller's values rather than any the sender wrote.
//   - The writer's field names (peer_pid, peer_uid, peer_gid, pipe_pid,
//     logfanin_sid, logfanin_seq, stream) are the writer's on every input:
//     a top-level field of one of those names that the caller adds no value
//     for (a "peer_uid" sent down the shared pipe, a "logfanin_sid" on a
//     connection without acknowledgements, any of them in the sink's
//     fallback file) gets "name":null at the end, so a last-wins reader
//     never sees a value a client chose for it.
//
// Whether a record is one JSON object is decided by [IsObject], one pass
// over the record at close to memory speed that gives encoding/json's
// verdict (FuzzIsObject checks that); on the way it notes whether the
// object must be compacted and whether it may name a writer's field, so
// that the common record is read once, then copied once into the line. A
// caller that must know the verdict before it knows what to add to the
// record (syslog's header fields, a line's time) gets it with
// [ScanObject] or [ScanRecord] and passes the scan to
// [Formatter.PrepareScanned], so the record is still read once.
package jsonline
