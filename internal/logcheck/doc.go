// Package logcheck makes test records and verifies log output made of
// them. It is shared by the multi-process tests and the stress suite.
//
// # Records
//
// A record is one JSON object line made by Make:
//
//	{"p":3,"s":17,"n":150,"c":"9a0b1c2d","b":"Qx7..."}
//
// Its fields are:
//
//   - "p": producer id
//   - "s": sequence number, from 0 for each producer
//   - "n": record length in bytes including the newline
//   - "c": CRC-32 (IEEE) of the body, 8 lowercase hex digits
//   - "b": body, printable ASCII that no JSON encoder escapes
//
// Writers may add fields (pid, time, ...); the Checker ignores them and
// does not depend on field order. Sizes gives a reproducible mix of record
// sizes weighted towards the boundaries that break naive writers
// (PIPE_BUF, 64 KiB).
//
// # Checking
//
// A Checker is told how many records each producer wrote, reads every
// output file oldest first (LogFiles lists lumberjack-style backups in
// that order; .gz backups are decompressed), and returns a Report that
// counts missing, duplicated, torn, interleaved, reordered and unexpected
// records, with examples of the offending lines.
package logcheck
