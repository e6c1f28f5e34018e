//go:build !linux

package atomicwrite

// PipeBuf is the largest record written with a single unlocked write(2)
// under LockAuto. Outside Linux it is _POSIX_PIPE_BUF, the minimum every
// POSIX system guarantees (macOS and the BSDs define PIPE_BUF as 512).
const PipeBuf = 512
