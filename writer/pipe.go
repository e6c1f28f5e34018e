package writer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
	"golang.org/x/sys/unix"
)

// Pipes and Shutdown
//
// A pipe reaches end of file only when every process holding its write end
// has closed it. A supervisor usually keeps a write end itself, to hand to
// children it has yet to start; AddPipeEnds lets the Server own that
// copy: Shutdown closes it, and the pipe then ends as soon as the last
// child has exited or closed its end. Until then Shutdown keeps reading.
// If Shutdown's context expires first, the reader reads everything the
// pipe holds at that moment without waiting for more (chunks are written
// whole, so it stops at a chunk boundary) and ends; records still
// unfinished are counted as Partial. Nothing a sender had written to the
// pipe when the reader stopped is lost.

// pipe is an input reading pipe chunks.
type pipe struct {
	s        *Server
	f        *os.File
	w        *os.File // write end to close at Shutdown, or nil
	stopping atomic.Bool
	wclosed  atomic.Bool
	fd       feeder
	tail     []byte
}

// AddPipe reads records in pipe chunks (docs/PROTOCOL.md) from the read end of a pipe
// shared by any number of senders. The Server takes f over (it closes f).
// Shutdown reads until every write end is closed or its context expires;
// see AddPipeEnds for the write end the caller keeps.
func (s *Server) AddPipe(f *os.File) error { return s.AddPipeEnds(f, nil) }

// AddPipeEnds is AddPipe with the caller's copy of the pipe's write end w,
// which Shutdown closes so that the pipe ends once every other holder has
// closed theirs. w may be nil.
func (s *Server) AddPipeEnds(r, w *os.File) error {
	pf, err := pollable(r)
	if err != nil {
		r.Close()
		return fmt.Errorf("pipe %s: %w", r.Name(), err)
	}
	p := &pipe{s: s, f: pf, w: w}
	p.fd.s = s
	if err := s.addInput(p, false, p.serve); err != nil {
		pf.Close()
		p.closeWriter()
		return err
	}
	return nil
}

// pollable returns a non-blocking duplicate of f that Go's poller
// manages, so that read deadlines work on it, and closes f.
func pollable(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	name := f.Name()
	f.Close()
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	return os.NewFile(uintptr(nfd), name), nil
}

func (p *pipe) closeWriter() {
	if p.w != nil && p.wclosed.CompareAndSwap(false, true) {
		p.w.Close()
	}
}

func (p *pipe) drain() { p.closeWriter() }

func (p *pipe) force() {
	p.closeWriter()
	if p.stopping.CompareAndSwap(false, true) {
		p.f.SetReadDeadline(time.Now())
	}
}

// Read hands the decoded records to the output before it may block. Once
// Shutdown forces the pipe to end, it reads only what is already there.
func (p *pipe) Read(b []byte) (int, error) {
	p.fd.flush()
	n, err := p.f.Read(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && p.stopping.Load() {
		return p.readNow(b)
	}
	return n, err
}

func (p *pipe) readNow(b []byte) (int, error) {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return 0, io.EOF
	}
	var n int
	var rerr error
	rc.Control(func(fd uintptr) { n, rerr = unix.Read(int(fd), b) })
	if rerr != nil || n <= 0 {
		return 0, io.EOF // empty (EAGAIN) or closed
	}
	return n, nil
}

func (p *pipe) serve() {
	defer p.f.Close()
	defer p.closeWriter()
	s := p.s
	cr := wire.NewChunkReader(p, wire.ChunkConfig{
		MaxRecord:   s.cfg.maxRecord,
		IdleTimeout: s.cfg.idleTimeout,
		OnDiscard:   p.discard,
	})
	for {
		rec, err := cr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.diag.printf("pipe %s: %v", p.f.Name(), err)
			}
			break
		}
		s.c.pipeRecords.Add(1)
		tail := []byte(nil)
		if s.cfg.peerCred {
			p.tail = appendUintField(p.tail[:0], "pipe_pid", uint64(rec.PID))
			tail = p.tail
		}
		p.fd.add(record{data: rec.Data, tail: tail})
	}
	p.fd.flush()
}

func (p *pipe) discard(d wire.Discard) {
	s := p.s
	if d.Reason == wire.DiscardGarbage {
		s.c.garbageBytes.Add(uint64(d.Bytes))
		s.diag.printf("pipe %s: skipped %d bytes of garbage", p.f.Name(), d.Bytes)
		return
	}
	s.c.partial.Add(1)
	if d.Reason == wire.DiscardTooLarge {
		s.c.tooLarge.Add(1)
	}
	s.diag.printf("pipe %s: discarded a partial record of pid %d (%s, %d bytes)", p.f.Name(), d.PID, d.Reason, d.Bytes)
}
