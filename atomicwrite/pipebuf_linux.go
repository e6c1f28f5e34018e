package atomicwrite

// PipeBuf is PIPE_BUF on this system: the largest record written with a
// single unlocked write(2) under LockAuto. POSIX guarantees that a write of
// at most PIPE_BUF bytes to a pipe is atomic; on a local file system an
// O_APPEND write of that size is atomic in practice. Linux defines it as
// 4096 (golang.org/x/sys/unix does not export it).
const PipeBuf = 4096
