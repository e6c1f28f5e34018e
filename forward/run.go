package forward

import (
	"bytes"
	"context"
	"fmt"
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

// run is the Forwarder's goroutine.
func (f *Forwarder) run(ctx context.Context) {
	defer close(f.done)
	defer func() {
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
				fmt.Fprintf(f.diag, "logfanin: forward: %v\n", err)
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
					fmt.Fprintf(f.diag, "logfanin: forward: %v\n", err)
					src.eof = true
				}
				continue
			}
			if f.finished(src) {
				if len(src.buf) > 0 {
					// A last line without its newline: ship it as it is.
					if !f.ship(ctx, src, 1, len(src.buf)) {
						return
					}
				}
				f.next(src)
				src.close()
				src = nil
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
			fmt.Fprintf(f.diag, "logfanin: forward: %v\n", err)
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
		fmt.Fprintf(f.diag, "logfanin: forward: %s was moved away without a rotation; shipped it to its end, following the new file\n", f.cfg.Path)
		return true
	}
	return false
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
		fmt.Fprintf(f.diag, "logfanin: forward: %s was removed before it was shipped: %d bytes from offset %d lost\n", name, lost, f.st.Offset)
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
		file, err := os.Open(b.Plain)
		if err != nil {
			continue
		}
		if fi, err := file.Stat(); err == nil {
			if dev, ino := identity(fi); dev == e.Dev && ino == e.Ino {
				f.st.Files[0].Backup, f.st.Files[0].Size = b.Plain, fi.Size()
				return &source{ent: f.st.Files[0], file: file, r: file}, nil
			}
		}
		file.Close()
	}
	return nil, nil
}

// ship sends the first lines (size bytes) of src.buf until the receiver
// accepts or rejects them, then advances the checkpoint past them. It
// returns false if ctx ended first.
func (f *Forwarder) ship(ctx context.Context, src *source, lines, size int) bool {
	req := f.request(src, lines, size)
	backoff := f.cfg.MinBackoff
	for {
		r := f.client.export(ctx, req)
		if ctx.Err() != nil {
			return false
		}
		switch r.outcome {
		case retryable:
			f.retries.Add(1)
			fmt.Fprintf(f.diag, "logfanin: forward to %s: %s; retrying in %v\n", f.endpoint, r.msg, backoff)
			f.syncPending()
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
			backoff = min(2*backoff, f.cfg.MaxBackoff)
			continue
		case permanent:
			f.rejected.Add(uint64(lines))
			fmt.Fprintf(f.diag, "logfanin: forward to %s: %d records rejected: %s\n", f.endpoint, lines, r.msg)
		case accepted:
			rej := min(uint64(max(r.rejected, 0)), uint64(lines))
			f.rejected.Add(rej)
			f.forwarded.Add(uint64(lines) - rej)
			if r.msg != "" {
				fmt.Fprintf(f.diag, "logfanin: forward to %s: %s\n", f.endpoint, r.msg)
			}
		}
		f.batches.Add(1)
		f.mu.Lock()
		f.st.Offset = src.base + int64(size)
		f.saveLocked(false)
		f.mu.Unlock()
		src.consume(size)
		return true
	}
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
	uids := make([]byte, 0, lines*uidLen)
	for off := 0; off < len(data); {
		uids = appendUID(uids, src.ent.ID, src.base+int64(off))
		i := strings.IndexByte(data[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	allUIDs := string(uids)
	for n := 0; len(data) > 0; n++ {
		line := data
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = ""
		}
		f.scan.record(line, allUIDs[n*uidLen:(n+1)*uidLen], now, recs.AppendEmpty())
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
