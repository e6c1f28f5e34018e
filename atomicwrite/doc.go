// Package atomicwrite is logfanin's direct mode: every process appends
// records to the log file itself, with no writer process, and the file can
// still be rotated safely while they do.
//
//	f, err := atomicwrite.Open("/var/log/app.log", atomicwrite.WithMaxSize(100<<20))
//	...
//	logger := zap.New(zapcore.NewCore(enc, f, zap.InfoLevel))
//
// A File is a zapcore.WriteSyncer: each Write is one record. Importing the
// package also registers the zap sink scheme "logfanin+append" (see Scheme and
// OpenURL).
//
// # Bytes as given
//
// A File writes each record's bytes as given: it adds no newline and does
// not check, escape or wrap what it writes. zap's encoders and log/slog's
// handlers end every record with a newline, so through them the file is
// one record per line; a program calling Write itself must end its records
// with a newline, and keep newlines out of them, to get the same. Direct
// mode stays a byte path for three reasons: its cost is a write(2) per
// record and no more (validating JSON would cost each process what it
// costs the fan-in writer), the records may be any text a logger writes
// (logfmt, plain lines), not only JSON, and rewriting them would make the
// bytes on disk differ from those the program wrote. Package sink's
// fallback file, which takes whatever a Sink's Write was given, formats
// each record as the writer would before it reaches its File.
//
// # Writing
//
// The file is opened with O_APPEND, never O_TRUNC. How a record reaches it
// depends on the locking level, which every process writing the file
// should share:
//
//   - LockAuto (default): a record of at most PipeBuf bytes (4096 on
//     Linux) is exactly one write(2), with no lock and no other system
//     call. A larger record is written under flock(LOCK_EX), in as many
//     write(2) calls as it takes. Large records never interleave with each
//     other. A small record can land between two write calls of a large
//     one only if the kernel splits the large write, which local file
//     systems (ext4, xfs, btrfs, tmpfs) do not do for regular files short
//     of an error or a signal.
//   - LockShared: a small record takes flock(LOCK_SH), so it can never
//     land inside a large record, even a split one. Small records still
//     do not wait for each other.
//   - LockAlways: every record takes flock(LOCK_EX). Use it on file systems
//     where O_APPEND is not atomic across machines or at all, such as NFS
//     (where flock is emulated with fcntl locks by the client).
//
// Under LockShared and LockAlways, and for every large record, the File
// checks after taking the lock that the path still names its file (one
// stat(2)) and follows a rotation before writing, so locked records never
// go to a rotated file.
//
// A record that is written only in part is an error wrapping the cause
// (io.ErrShortWrite, or the errno such as syscall.ENOSPC), never silent.
// The atomicity of an O_APPEND write of at most PIPE_BUF bytes to a regular
// file is what Linux local file systems provide in practice (the inode is
// locked for the whole write); POSIX promises it only for pipes.
//
// # Rotation
//
// With WithMaxSize, the file is rotated when a record would take it over
// the limit, like lumberjack: app.log is renamed to
// app-2006-01-02T15-04-05.000.log (UTC unless WithLocalTime) in the same
// directory and a new app.log is created with the old one's permission
// bits. Unlike lumberjack, this is safe with many processes:
//
//   - The size comes from stat(2), refreshed at every reopen check and
//     every lock, plus the bytes this File wrote since; never from memory
//     alone. The file can exceed MaxSize by what siblings write between two
//     checks.
//   - Exactly one process rotates. It takes flock(LOCK_EX) on its open
//     file, then checks that the path still names that file (another
//     process may have rotated already: then it reopens and re-checks the
//     size instead) and that the size is still over the limit, renames,
//     opens the new file, and unlocks. Locks belong to the inode, which is
//     why the path is checked after every lock.
//   - Other processes notice the rotation by comparing the device and
//     inode of the path with those of their descriptor: at least every
//     reopen interval (WithReopenCheck, default 1 s) and whenever they take
//     a lock. Then they reopen.
//
// The window: a small record written without a lock (LockAuto) by a
// sibling that has not noticed the rotation yet lands at the end of the
// just-rotated file. It is not lost or duplicated, and each process's
// records stay in order when the backups are read oldest first. This can
// happen for up to one reopen interval after a rotation, so backups are
// compressed (WithCompress) and pruned (WithMaxBackups, WithMaxAge) only
// once they are older than twice that interval (at least 1 s); the newest
// backup is therefore usually compressed at the following rotation.
// Compression and pruning run in a goroutine owned by the File, which
// Close waits for; siblings coordinate them with flock on the backup.
//
// Rotation by someone else (logrotate's create mode, or a manual mv) is
// noticed the same way. Do not use logrotate's copytruncate.
//
// # Paths
//
// A relative path is made absolute at Open. A symbolic link is resolved
// once at Open; the target is written and rotated. A missing directory is
// an error unless WithCreateDirs is given (lumberjack creates it; a typo
// should not silently create a tree). A directory, or a file that cannot
// be opened for writing, is an error from Open. Devices and pipes can be
// written but not rotated.
package atomicwrite
