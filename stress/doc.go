// Package stress is logfanin's multi-process stress suite: it proves, on
// the machine and file system it runs on, that no record is ever torn,
// interleaved, reordered, duplicated or lost, in every mode.
//
// # What it runs
//
// For every mode, Procs producer processes (the running binary executes
// itself again, see Child) each write Records records made by
// internal/logcheck: producer id, sequence number, length and checksum.
// Record sizes are a seeded mix from logcheck.MinSize to MaxSize with
// extra weight on the edges: PIPE_BUF-1, PIPE_BUF and PIPE_BUF+1, 64 KiB,
// multiples of the pipe chunk payload ±1, the client's and the writer's
// batch sizes, and the maximum. Datagram sizes are capped at what one
// datagram can carry here. The producers wait at a starting gate (their
// standard input) so that they all write at once.
//
// The modes (see Modes, or `go run ./stress/cmd/stress -list`):
//
//   - sidecar-*: the real logfanin binary, built with go build, in listen
//     mode over unix:// (stream), unixgram:// (datagrams) and an inherited
//     fd:3 pipe, rotating at 1 MB; ended by SIGTERM, which must drain
//     everything. sidecar-supervise runs `logfanin -- POOL`: the pool's
//     children log over LOGFANIN_ADDR and LOGFANIN_PIPE, and the sidecar
//     drains and exits with the pool's status.
//   - writer-*: the same through package writer in the driving process.
//   - direct-*: package atomicwrite in every producer, with LockAuto
//     (O_APPEND) and LockAlways (flock), with and without rotation at
//     256 KiB (with gzip).
//   - naive-*: the controls, ways of writing that logfanin replaces:
//     buffered writers without O_APPEND, unsynchronised 4 KiB bufio
//     writers on O_APPEND, and 64 KiB writes into one shared pipe copied
//     to the file by a line reader. The verifier must catch every one;
//     a control that passes fails the run, because then the verifier's
//     silence about the other modes would mean nothing. Controls always
//     run with at least 4 producers and 200 records each.
//
// Faults injected while modes run:
//
//   - kill (sidecar-stream, sidecar-pipe, writer-stream, writer-pipe): one
//     more producer writes half its records, then starts a 512 KiB record by
//     hand (every pipe chunk but the last; or a frame header and half the
//     payload on a raw stream connection), says so on its standard output,
//     and is killed with SIGKILL. Its half record must not reach the output
//     and the writer must count exactly one partial record (Stats().Partial,
//     or partial=N in the sidecar's summary line).
//   - hup (sidecar-hup): the log file is renamed away, logrotate style, and
//     the sidecar sent SIGHUP every 25 ms while the producers write.
//   - rotation at a small size in most modes, and SIGTERM at the end.
//
// The output, rotated backups included (gzip too), is read oldest first by
// logcheck, which counts expected, found, missing, duplicated, torn,
// interleaved and reordered records per producer. Any non-zero count fails
// the mode, with the first offending lines and the seed that replays it.
//
// # Running it
//
//	go test ./stress/...                        # CI-sized matrix, under a minute
//	go test ./stress -long -timeout 1h          # 6 producers × 500 records of every size per mode
//	go test ./stress -stress.duration=1m -timeout 1h  # each mode repeated with new seeds for a minute
//	go test ./stress -stress.seed=N             # replay a run
//	go test ./stress -stress.dir=/mnt/nfs/tmp   # on the file system under test
//
// The command runs any matrix and prints a summary table:
//
//	go run ./stress/cmd/stress -modes all -procs 8 -records 100000 -max-size 512 -dir /mnt/nfs/tmp
//	go run ./stress/cmd/stress -modes 'direct*' -seed N -markdown
//
// Modes that show a known bug are left out of "all" and run by name or
// as -modes bugs (go test ./stress -stress.bugs).
//
// Run and the types around it are the one implementation behind both.
package stress
