package wire

// PipeBuf is PIPE_BUF on this system: the largest write(2) to a pipe that
// the kernel performs atomically, and so the size of the chunks a sender
// writes to a shared pipe. Linux defines it as 4096;
// golang.org/x/sys/unix does not export it.
const PipeBuf = 4096
