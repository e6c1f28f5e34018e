package forward

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// source is the file being read: the lines in buf start at file offset
// base; those before base were mapped into batches.
type source struct {
	ent  entry
	file *os.File
	r    io.Reader // file, or a gzip reader over it
	gz   bool
	live bool   // opened at the live path, not a backup name
	mem  []byte // what buf is a window of (len(mem) == cap(mem))
	buf  []byte
	base int64
	eof  bool // the last read reached the end
}

func (s *source) close() {
	if s.file != nil {
		s.file.Close()
	}
}

// pos is the file offset just past what was read.
func (s *source) pos() int64 { return s.base + int64(len(s.buf)) }

// fill reads more of the file, growing its memory if it holds no whole
// line.
func (s *source) fill(want int) error {
	// The memory is grown only when less than 64 KiB of it is free, and
	// then only if it is smaller than wanted or holds no whole line;
	// otherwise what buf holds is moved to its front, if it is not there,
	// once less than 64 KiB is left after it.
	if cap(s.buf)-len(s.buf) < 64<<10 {
		if len(s.mem)-len(s.buf) < 64<<10 && (len(s.mem) < want || bytes.IndexByte(s.buf, '\n') < 0) {
			s.mem = make([]byte, max(2*len(s.mem), want, 256<<10))
			s.buf = s.mem[:copy(s.mem, s.buf)]
		} else if cap(s.buf) < len(s.mem) {
			s.buf = s.mem[:copy(s.mem, s.buf)]
		}
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	// A gzip reader returns its last bytes with io.EOF; a file, never.
	s.eof = errors.Is(err, io.EOF)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", s.file.Name(), err)
	}
	return nil
}

// consume drops n bytes, mapped into a batch, from the front of buf,
// without moving the rest (fill does that when it needs the room).
func (s *source) consume(n int) {
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = s.mem[:0]
	}
	s.base += int64(n)
}

// openBackup opens a rotated file under its backup's name, plain or
// compressed; nil, nil if it is under neither. The plain one is tried
// first: compression writes the .gz whole before it removes the plain
// file. A backup that is there but cannot be opened is an error, not a
// removed one: it is tried again rather than counted as lost.
func openBackup(e entry) (*source, error) {
	file, err := os.Open(e.Backup)
	if err == nil {
		return &source{ent: e, file: file, r: file}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	file, err = os.Open(e.Backup + ".gz")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(file)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("read %s.gz: %w", e.Backup, err)
	}
	return &source{ent: e, file: file, r: zr, gz: true}, nil
}

// shrunk reports whether the file holds less than was read of it: a
// live file someone truncated.
func (s *source) shrunk() bool {
	fi, err := s.file.Stat()
	return err == nil && fi.Size() < s.pos()
}

// rewind goes back to the start of a plain file, dropping what was read.
func (s *source) rewind() error {
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("seek %s: %w", s.file.Name(), err)
	}
	s.buf, s.base, s.eof = s.mem[:0], 0, false
	return nil
}

// seek skips to the offset: a seek in a plain file, reading in a
// compressed one.
func (s *source) seek(off int64) error {
	s.base = off
	if off == 0 {
		return nil
	}
	if s.gz {
		if _, err := io.CopyN(io.Discard, s.r, off); err != nil {
			return fmt.Errorf("skip to offset %d of %s: %w", off, s.file.Name(), err)
		}
		return nil
	}
	if _, err := s.file.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("seek %s: %w", s.file.Name(), err)
	}
	return nil
}
