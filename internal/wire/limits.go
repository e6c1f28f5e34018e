package wire

const (
	// DefaultMaxRecord is the default size limit of one record, 1 MiB.
	DefaultMaxRecord = 1 << 20

	// MaxRecordLimit is the largest configurable record size. Stream frame
	// lengths use the low 31 bits; the high bit marks control frames.
	MaxRecordLimit = 1<<31 - 1
)
