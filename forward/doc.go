// Package forward ships the lines of a log file that a writer.FileOutput
// writes to an OpenTelemetry Collector, or any OTLP logs receiver, over
// OTLP/gRPC or OTLP/HTTP, in or out of TLS. The sidecar's -forward flag
// is this package.
//
// # Delivery
//
// At least once, with the output file as the only buffer. The Forwarder
// reads whole lines from the file, sends them in batches, and stores a
// checkpoint (the file, by identity, and the offset of the first line not
// yet answered) atomically after the receiver answered a batch (accepted
// it, partly or not at all) and every batch before it, never before. Several exports may be in flight at
// once (Config.MaxInFlight); after a crash or a SIGKILL it resumes from
// the checkpoint: the batches that were in flight are sent again, nothing
// else. Every record
// carries a log.record.uid made of the file's identity and the line's
// offset, the same on every sending, so a receiver can drop the
// duplicates.
//
// Retryable failures (gRPC Unavailable, ResourceExhausted and the other
// retryable codes of the OTLP specification; HTTP 429, 502, 503, 504; a
// refused connection) are retried with exponential backoff, forever.
// Permanent rejections, and the records a partial success names, are
// counted (Stats.Rejected), reported and skipped.
//
// # Rotation
//
// The Forwarder is the FileOutput's FileConfig.Watcher: the FileOutput
// tells it the backup's name before renaming the file, and the Forwarder
// stores it in the checkpoint. So it follows rotations without guessing,
// reads backups compressed since (name.gz), finds them after a crash, and
// catches up after an outage as long as the backups are kept. A backup
// removed by -max-backups or -max-age before it was shipped whole is
// counted (Stats.PrunedFiles, PrunedBytes) and reported.
//
// # Mapping
//
// One log record per line: the time from ts or time (epoch seconds as
// zap writes them, or RFC 3339), the severity from level, the body from
// msg or message, every other field as an attribute (nested objects as
// maps), the writer's own fields included. A line that is not a JSON
// object is the body. docs/FORWARDING.md in the project has the table.
package forward
