//go:build !linux

package wire

// PipeBuf is the largest write(2) to a pipe that every POSIX system
// performs atomically (_POSIX_PIPE_BUF), and so the size of the chunks a
// sender writes to a shared pipe. macOS and the BSDs define PIPE_BUF as
// 512; a reader takes chunks of up to MaxChunk bytes on every system.
const PipeBuf = 512
