package writer

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// lineSource reads text lines, one record each.
type lineSource struct {
	s      *Server
	r      io.Reader
	name   string
	forced atomic.Bool
	fd     feeder
	tail   []byte // ,"stream":"name"
	wrap   []byte // "time":"…",
	long   []byte
}

// AddLines makes every line read from r a record, such as the standard
// output and error of a supervised child. A line that is a JSON object is
// written as it is; any other line is wrapped as
//
//	{"time":"<receipt time>","msg":"<line>","stream":"<name>"}
//
// and a JSON object gets "stream" added at its end. A line longer than the
// record limit is cut into records of the limit.
//
// Shutdown waits until r reaches end of file. If Shutdown's context
// expires first, it sets a read deadline on r if r has SetReadDeadline (an
// *os.File from os.Pipe or exec.Cmd.StdoutPipe does), or else closes r if
// it is an io.Closer, and keeps the lines read so far. An r that offers
// neither can't be stopped: Shutdown leaves it to its reader goroutine,
// which ends at r's end or next error, and the lines it reads after that
// are counted in Stats.Lost, never written. AddLines after Shutdown has
// begun does nothing.
//
// With WithPeerCred, lines from AddLines carry no peer fields (a sender's
// own are nulled, see the package doc); AddLinesFrom stamps them with the
// process the caller vouches for.
func (s *Server) AddLines(name string, r io.Reader) {
	s.addLines(name, r, nil)
}

// Peer is a process that a caller of AddLinesFrom vouches for: the lines
// it writes are stamped with it.
type Peer struct {
	PID, UID, GID int
}

// AddLinesFrom is AddLines for lines that peer writes, such as the
// standard output of a child the caller started (its pid is known; it
// runs as the uid and gid the caller gave it). With WithPeerCred every
// line gets "peer_pid", "peer_uid" and "peer_gid" from peer at its end,
// as records from sockets get the kernel's word (a PID of 0 is left out,
// as a platform's unknown pid is). Processes that inherit
// the descriptor from peer (its own children) write under peer's name.
func (s *Server) AddLinesFrom(name string, r io.Reader, peer Peer) {
	s.addLines(name, r, &peer)
}

func (s *Server) addLines(name string, r io.Reader, peer *Peer) {
	ls := &lineSource{s: s, r: r, name: name}
	ls.fd.s = s
	ls.tail = jsonline.AppendStringField(nil, "stream", []byte(name))
	if peer != nil && s.cfg.peerCred {
		ls.tail = appendCred(ls.tail, &cred{pid: int32(peer.PID), uid: uint32(peer.UID), gid: uint32(peer.GID)})
	}
	_, dl := r.(interface{ SetReadDeadline(time.Time) error })
	_, cl := r.(io.Closer)
	if err := s.addInput(ls, !dl && !cl, ls.serve); err != nil {
		s.diag.printf("lines %s: %v", name, err)
	}
}

func (ls *lineSource) drain() {}

func (ls *lineSource) force() {
	if !ls.forced.CompareAndSwap(false, true) {
		return
	}
	if d, ok := ls.r.(interface{ SetReadDeadline(time.Time) error }); ok {
		if d.SetReadDeadline(time.Now()) == nil {
			return
		}
	}
	if c, ok := ls.r.(io.Closer); ok {
		c.Close()
	}
}

// Read hands the lines read so far to the output before it may block.
func (ls *lineSource) Read(p []byte) (int, error) {
	ls.fd.flush()
	return ls.r.Read(p)
}

func (ls *lineSource) serve() {
	max := ls.s.cfg.maxRecord
	br := bufio.NewReaderSize(ls, min(64<<10, max))
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			ls.long = append(ls.long, line...)
			for len(ls.long) >= max {
				ls.line(ls.long[:max])
				ls.long = append(ls.long[:0], ls.long[max:]...)
			}
			continue
		case len(ls.long) > 0:
			ls.long = append(ls.long, line...)
			line = ls.long
			for len(line) > max {
				ls.line(line[:max])
				line = line[max:]
			}
		}
		if len(line) > 0 {
			ls.line(line)
		}
		ls.long = ls.long[:0]
		if cap(ls.long) > 1<<20 {
			ls.long = nil
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !(ls.forced.Load() && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed))) {
				ls.s.diag.printf("lines %s: %v", ls.name, err)
			}
			break
		}
	}
	ls.fd.flush()
}

// line queues one line: a JSON object as it is, text wrapped with the
// time it was read (formatted only then).
func (ls *lineSource) line(b []byte) {
	ls.s.c.lines.Add(1)
	if obj, scan := jsonline.ScanRecord(b); scan.Valid() {
		ls.fd.add(record{data: obj, scan: scan, tail: ls.tail})
		return
	}
	ls.wrap = append(ls.wrap[:0], `"time":"`...)
	ls.wrap = time.Now().UTC().AppendFormat(ls.wrap, time.RFC3339Nano)
	ls.wrap = append(ls.wrap, `",`...)
	ls.fd.add(record{data: b, wrap: ls.wrap, tail: ls.tail, forceWrap: true})
}
