package wire

const (
	// PipeBuf is PIPE_BUF on Linux: the largest write(2) to a pipe that the
	// kernel performs atomically. golang.org/x/sys/unix does not export it.
	PipeBuf = 4096

	// DefaultMaxRecord is the default size limit of one record, 1 MiB.
	DefaultMaxRecord = 1 << 20

	// MaxRecordLimit is the largest configurable record size. Stream frame
	// lengths use the low 31 bits; the high bit marks control frames.
	MaxRecordLimit = 1<<31 - 1
)
