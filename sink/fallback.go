package sink

import (
	"io/fs"
	"sync"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/jsonline"
)

// DefaultFallbackPerm is the permission of a fallback file the Sink
// creates (before the umask), the one the writer gives its output: only
// the owner may read it. An atomicwrite.WithPerm option passed to
// WithFallback sets another.
const DefaultFallbackPerm fs.FileMode = 0o600

// fallbackFile is the fallback file. Every Write is one record, written
// as the line the writer would write for it (package jsonline: one line
// of JSON, text wrapped, newlines escaped, the final newline added) with
// one write to the atomicwrite.File, so the file keeps the output's
// promise of one JSON line per record.
type fallbackFile struct {
	*atomicwrite.File

	mu     sync.Mutex
	format jsonline.Formatter
	line   []byte
}

// openFallback opens the fallback file at path: created with
// DefaultFallbackPerm unless opts say otherwise.
func openFallback(path string, opts []atomicwrite.Option) (*fallbackFile, error) {
	f, err := atomicwrite.Open(path, append([]atomicwrite.Option{atomicwrite.WithPerm(DefaultFallbackPerm)}, opts...)...)
	if err != nil {
		return nil, err // New says it is the fallback's
	}
	return &fallbackFile{File: f}, nil
}

// Write writes rec, one record, as one line. It returns len(rec) when the
// whole line is written.
func (fb *fallbackFile) Write(rec []byte) (int, error) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.line = fb.format.AppendLine(fb.line[:0], rec)
	_, err := fb.File.Write(fb.line)
	if cap(fb.line) > jsonline.MaxScratch {
		fb.line = nil
	}
	if err != nil {
		return 0, err
	}
	return len(rec), nil
}
