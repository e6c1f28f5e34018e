package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/logfanin/logfanin/internal/backups"
)

// ScopeName is the instrumentation scope of every forwarded record.
const ScopeName = "github.com/logfanin/logfanin/forward"

// checkMovedEvery is how often a Forwarder with nothing to read looks
// whether the live file was moved away by something other than a
// rotation it was told of (logrotate and SIGHUP).
const checkMovedEvery = time.Second

// run is the Forwarder's goroutine. It reads and maps the batches and
// commits them in order; each export runs in a goroutine of its own, up
// to Config.MaxInFlight at once. A file's batches are all committed
// before the next file is opened, and before the Forwarder waits for
// more to be written.
func (f *Forwarder) run(ctx context.Context) {
	defer close(f.done)
	defer func() {
		// Ended by ctx: the exports in flight end too; those answered in
		// order are committed, the others are sent again at the next start.
		for _, b := range f.flight {
			<-b.done
		}
		f.settle(false)
		f.mu.Lock()
		f.saveLocked(true)
		f.mu.Unlock()
	}()
	var src *source
	defer func() {
		if src != nil {
			src.close()
		}
	}()
	stopping := false
	tick := time.NewTicker(checkMovedEvery)
	defer tick.Stop()
	wait := func() bool {
		f.syncPending()
		select {
		case <-f.wake:
		case <-tick.C:
		case <-f.stop:
			stopping = true
		case <-ctx.Done():
			return false
		}
		return true
	}
	for ctx.Err() == nil {
		if src == nil {
			var err error
			src, err = f.open()
			if err != nil {
				f.logf("logfanin: forward: %v", err)
			}
			if src == nil {
				if stopping || !wait() {
					return
				}
				continue
			}
		}
		lines, size := f.cut(src)
		if lines == 0 {
			if !src.eof {
				if err := src.fill(0); err != nil {
					f.logf("logfanin: forward: %v", err)
					src.eof = true
				}
				continue
			}
			// Whether the file is done with is asked before whether it
			// shrank: a truncation comes before the rotation announced
			// after it, so the one look sees both.
			done := f.finished(src)
			if src.live && src.shrunk() {
				// Truncated by something other than the writer, before
				// or after a rotation was announced: ship what was in
				// flight, then the file again from its start.
				if !f.drain() {
					return
				}
				if f.truncated(src) {
					continue
				}
			}
			if done {
				if len(src.buf) > 0 {
					// A last line without its newline: ship it as it is.
					if !f.ship(ctx, src, 1, len(src.buf)) {
						return
					}
				}
				if !f.drain() {
					return
				}
				f.next(src)
				src.close()
				src = nil
				continue
			}
			if len(f.flight) > 0 {
				// Read again once the oldest batch is over: the writer may
				// have written more meanwhile.
				if !f.settle(true) {
					return
				}
				src.eof = false
				continue
			}
			f.setCaughtUp(true)
			if stopping || !wait() {
				return
			}
			src.eof = false
			continue
		}
		f.setCaughtUp(false)
		if !f.ship(ctx, src, lines, size) {
			return
		}
	}
}

// cut counts the whole lines at the front of src.buf that make the next
// batch, reading more if it has fewer than a batch and the file has more.
func (f *Forwarder) cut(src *source) (lines, size int) {
	for {
		lines, size = 0, 0
		for size < len(src.buf) && lines < f.cfg.MaxBatch {
			i := bytes.IndexByte(src.buf[size:], '\n')
			if i < 0 || lines > 0 && size+i+1 > f.cfg.MaxBatchBytes {
				break
			}
			size += i + 1
			lines++
		}
		if lines == f.cfg.MaxBatch || size >= f.cfg.MaxBatchBytes/2 || src.eof {
			return lines, size
		}
		before := len(src.buf)
		if err := src.fill(f.cfg.MaxBatchBytes); err != nil {
			f.logf("logfanin: forward: %v", err)
			src.eof = true
		}
		if len(src.buf) == before && !src.eof {
			return lines, size
		}
	}
}

// finished reports whether src, read to its end, is done with: it was
// rotated (its last byte was written before the rotation was announced,
// so a read to its rotated size is its end) or moved away by someone
// else and the writer has gone on to a new file.
func (f *Forwarder) finished(src *source) bool {
	f.mu.Lock()
	e := f.st.Files[0]
	f.mu.Unlock()
	if e.rotated() {
		// A backup opened by its name grows no more; the live file being
		// rotated is whole at the size it was rotated at.
		return !src.live || src.pos() >= e.Size
	}
	// Moved away without a rotation we were told of: done once the path
	// names another file that the writer has begun to write.
	fi, err := os.Stat(f.cfg.Path)
	if err != nil {
		return false
	}
	dev, ino := identity(fi)
	if (dev != e.Dev || ino != e.Ino) && fi.Size() > 0 {
		// Read once more: the writer's last writes to the old file came
		// before its first to the new one.
		if err := src.fill(0); err == nil && !src.eof {
			return false
		}
		f.logf("logfanin: forward: %s was moved away without a rotation; shipped it to its end, following the new file", f.cfg.Path)
		return true
	}
	return false
}

// truncated starts src, a live file that someone other than the writer
// truncated (logrotate's copytruncate, ": > app.log") after it was read
// further than it now goes, and everything read of it answered, over
// from its start: as a new file of the checkpoint, with an id of its own,
// so that the uids of its new lines do not repeat those of the lines the
// truncation removed. A rotation announced for it stays in the
// checkpoint. (A file that has grown past what was read by the time the
// forwarder looks is not known for truncated: reading goes on where it
// was.)
// It returns false if src could not be rewound.
func (f *Forwarder) truncated(src *source) bool {
	if err := src.rewind(); err != nil {
		f.logf("logfanin: forward: %v", err)
		return false
	}
	f.logf("logfanin: forward: %s was truncated by something other than the writer: shipping it again from its start", f.cfg.Path)
	f.mu.Lock()
	f.st.Files[0].ID = newID()
	f.st.Offset = 0
	f.saveLocked(true)
	src.ent = f.st.Files[0]
	f.mu.Unlock()
	return true
}

// next drops the first file, shipped whole, from the checkpoint.
func (f *Forwarder) next(src *source) {
	f.mu.Lock()
	f.lastDone = [2]uint64{f.st.Files[0].Dev, f.st.Files[0].Ino}
	f.st.Files = f.st.Files[1:]
	f.st.Offset = 0
	f.saveLocked(true)
	f.mu.Unlock()
}

// open opens the first file of the checkpoint at its offset, or the live
// file if the checkpoint has none. A file that is gone is counted as lost
// and the next one tried; nil means there is nothing to open now.
func (f *Forwarder) open() (*source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if len(f.st.Files) == 0 {
			file, err := os.Open(f.cfg.Path)
			if err != nil {
				return nil, fmt.Errorf("open %s: %w", f.cfg.Path, err)
			}
			fi, err := file.Stat()
			if err != nil {
				file.Close()
				return nil, fmt.Errorf("open %s: %w", f.cfg.Path, err)
			}
			dev, ino := identity(fi)
			if [2]uint64{dev, ino} == f.lastDone {
				// The file just shipped whole, rotated but not renamed yet
				// (the writer announces a rotation before the rename): the
				// new file comes next.
				file.Close()
				return nil, nil
			}
			// Named before its first record is shipped, so that a crash
			// does not give its records new uids.
			f.st.Files = append(f.st.Files, entry{ID: newID(), Dev: dev, Ino: ino})
			f.st.Offset = 0
			f.saveLocked(true)
			f.resumed = true
			return &source{ent: f.st.Files[0], file: file, r: file, live: true}, nil
		}
		e := f.st.Files[0]
		src, err := f.openEntry(e)
		f.resumed = true
		if err != nil {
			return nil, err
		}
		if src != nil {
			if err := src.seek(f.st.Offset); err != nil {
				src.close()
				return nil, err
			}
			return src, nil
		}
		lost := max(e.Size-f.st.Offset, 0)
		f.prunedFiles.Add(1)
		f.prunedBytes.Add(uint64(lost))
		name := e.Backup
		if name == "" {
			name = fmt.Sprintf("%s (inode %d)", f.cfg.Path, e.Ino)
		}
		f.logf("logfanin: forward: %s was removed before it was shipped: %d bytes from offset %d lost", name, lost, f.st.Offset)
		f.st.Files = f.st.Files[1:]
		f.st.Offset = 0
		f.saveLocked(true)
	}
}

// openEntry finds a file of the checkpoint: under its backup's name, plain
// or compressed, or at the live path if it is still there (a crash between
// the announced rotation and the rename), or among the plain backups by
// identity. nil, nil means it is gone.
func (f *Forwarder) openEntry(e entry) (*source, error) {
	if e.rotated() {
		if src, err := openBackup(e); src != nil || err != nil {
			return src, err
		}
	}
	// The live file can only be the last file of the checkpoint, at least
	// as long as it was when rotated and as the offset: another is a new
	// file on a reused inode.
	if file, err := os.Open(f.cfg.Path); err == nil && len(f.st.Files) == 1 {
		if fi, err := file.Stat(); err == nil {
			if dev, ino := identity(fi); dev == e.Dev && ino == e.Ino && fi.Size() >= max(f.st.Offset, e.Size) {
				if e.rotated() && !f.resumed {
					// At the start: the rename never happened (a crash
					// between the announcement and the rename), so the
					// file is live again. Later on, the rename is just
					// about to happen.
					f.st.Files[0].Backup, f.st.Files[0].Size = "", 0
				}
				return &source{ent: e, file: file, r: file, live: true}, nil
			}
		}
		file.Close()
	} else if err == nil {
		file.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err // there but not opened: try again, never count it lost
	}
	if e.rotated() {
		// Renamed between the two looks above: it is under its name now
		// (a file is always at one of the two, the rename being atomic).
		return openBackup(e)
	}
	list, err := backups.List(f.cfg.Path, time.UTC)
	if err != nil {
		return nil, err
	}
	for _, b := range list {
		if b.Plain == "" {
			continue
		}
		// Identified by a stat, which needs no read permission: only the
		// file that is the entry must open, and if it does not, it is
		// there all the same (try again, never count it lost).
		fi, err := os.Stat(b.Plain)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if dev, ino := identity(fi); dev != e.Dev || ino != e.Ino {
			continue
		}
		file, err := os.Open(b.Plain)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed just now
		}
		if err != nil {
			return nil, err
		}
		f.st.Files[0].Backup, f.st.Files[0].Size = b.Plain, fi.Size()
		return &source{ent: f.st.Files[0], file: file, r: file}, nil
	}
	return nil, nil
}

// batch is an export on its way: the lines of the first file of the
// checkpoint up to the offset end.
type batch struct {
	req   plogotlp.ExportRequest
	lines int
	end   int64 // the file offset just past its last line
	ctx   context.Context
	done  chan struct{} // closed when the export is over
	ok    bool          // answered (accepted or rejected, not abandoned): set before done is closed
}

// ship maps the first lines (size bytes) of src.buf to a batch, drops
// them from src.buf and sends the batch, once fewer than MaxInFlight are
// in flight. The checkpoint passes it when it and all before it were
// answered (settle). It returns false if ctx ended first.
func (f *Forwarder) ship(ctx context.Context, src *source, lines, size int) bool {
	b := &batch{req: f.request(src, lines, size), lines: lines, end: src.base + int64(size), ctx: ctx, done: make(chan struct{})}
	src.consume(size)
	for len(f.flight) >= f.cfg.MaxInFlight {
		if !f.settle(true) {
			return false
		}
	}
	f.flight = append(f.flight, b)
	go f.export(b)
	return f.settle(false)
}

// export sends b until the receiver accepts or rejects it, or ctx ends.
func (f *Forwarder) export(b *batch) {
	defer close(b.done)
	backoff := f.cfg.MinBackoff
	for {
		r := f.client.export(b.ctx, b.req)
		if b.ctx.Err() != nil {
			return
		}
		switch r.outcome {
		case retryable:
			f.retries.Add(1)
			f.logf("logfanin: forward to %s: %s; retrying in %v", f.endpoint, r.msg, backoff)
			f.syncPending()
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-b.ctx.Done():
				t.Stop()
				return
			}
			backoff = min(2*backoff, f.cfg.MaxBackoff)
			continue
		case permanent:
			f.rejected.Add(uint64(b.lines))
			f.logf("logfanin: forward to %s: %d records rejected: %s", f.endpoint, b.lines, r.msg)
		case accepted:
			rej := min(uint64(max(r.rejected, 0)), uint64(b.lines))
			f.rejected.Add(rej)
			f.forwarded.Add(uint64(b.lines) - rej)
			if r.msg != "" {
				f.logf("logfanin: forward to %s: %s", f.endpoint, r.msg)
			}
		}
		f.batches.Add(1)
		b.ok = true
		return
	}
}

// settle commits the answered batches at the front of the flight, in
// order: the checkpoint moves past the last of them, never past a batch
// still in flight. With wait it first waits for the oldest to be over.
// It returns false if a batch was abandoned (ctx ended): nothing after
// it is committed.
func (f *Forwarder) settle(wait bool) bool {
	end := int64(-1)
	ok := true
front:
	for len(f.flight) > 0 {
		b := f.flight[0]
		if wait {
			<-b.done
			wait = false
		} else {
			select {
			case <-b.done:
			default:
				break front
			}
		}
		if !b.ok {
			ok = false
			break
		}
		end = b.end
		f.flight[0] = nil
		f.flight = f.flight[1:]
	}
	if end >= 0 {
		f.mu.Lock()
		f.st.Offset = end
		f.saveLocked(false)
		f.mu.Unlock()
	}
	return ok
}

// drain waits until every batch in flight is committed; false if ctx
// ended first.
func (f *Forwarder) drain() bool {
	for len(f.flight) > 0 {
		if !f.settle(true) {
			return false
		}
	}
	return true
}

// request maps the first lines of src.buf to an export request. The
// lines are copied into one string, which the records' strings are parts
// of, and their uids into another.
func (f *Forwarder) request(src *source, lines, size int) plogotlp.ExportRequest {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	f.resource.CopyTo(rl.Resource().Attributes())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(ScopeName)
	recs := sl.LogRecords()
	recs.EnsureCapacity(lines)
	now := pcommon.NewTimestampFromTime(time.Now())
	data := string(src.buf[:size])
	// The uids go into one string for the batch: a record's is a slice
	// of it (a Builder's strings stay valid as it grows).
	var uids strings.Builder
	uids.Grow(lines * uidLen)
	for off := 0; off < len(data); {
		line, next := data[off:], len(data)
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], off+i+1
		}
		var uid [uidLen]byte
		uids.Write(appendUID(uid[:0], src.ent.ID, src.base+int64(off)))
		all := uids.String()
		f.scan.record(line, all[len(all)-uidLen:], now, recs.AppendEmpty())
		off = next
	}
	return plogotlp.NewExportRequestFromLogs(ld)
}

// setCaughtUp notes whether everything written has been shipped, for the
// lag in seconds.
func (f *Forwarder) setCaughtUp(yes bool) {
	f.mu.Lock()
	if yes || !f.behind {
		f.caughtUp = time.Now()
	}
	f.behind = !yes
	f.mu.Unlock()
}
