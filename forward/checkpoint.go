package forward

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// entry is one file of the log, in the order written.
type entry struct {
	ID     uint64 `json:"id"` // chosen when first seen; names the file in record uids
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Backup string `json:"backup,omitempty"` // the plain backup it was rotated to; "" while live
	Size   int64  `json:"size,omitempty"`   // its size when rotated
}

func (e entry) rotated() bool { return e.Backup != "" }

// state is what the checkpoint file holds: the files not yet shipped
// whole, oldest first, and the offset in the first of the first line the
// receiver has not accepted. The last file may be the live one.
type state struct {
	Version int     `json:"version"`
	Path    string  `json:"path"` // the log file, to notice a checkpoint of another
	Files   []entry `json:"files"`
	Offset  int64   `json:"offset"`
}

const stateVersion = 1

// loadState reads the checkpoint; a missing file is an empty state.
func loadState(path, log string) (state, error) {
	st := state{Version: stateVersion, Path: log}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read checkpoint: %w", err)
	}
	var got state
	if err := json.Unmarshal(data, &got); err != nil {
		return st, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if got.Version != stateVersion {
		return st, fmt.Errorf("checkpoint %s: version %d, want %d", path, got.Version, stateVersion)
	}
	if got.Path != log {
		return st, fmt.Errorf("checkpoint %s is for %s, not %s", path, got.Path, log)
	}
	return got, nil
}

// save stores st in path atomically: a whole new file is written beside
// it, then renamed over the old one, so a crash of the process leaves the
// old checkpoint or the new one. With sync the new file and the directory
// are synced too, so that a crash of the machine does the same.
func (st *state) save(path string, sync bool) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if sync {
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

// DefaultCheckpoint is the checkpoint file of a log at path when none is
// given: a hidden file beside it, which the backup listing ignores.
func DefaultCheckpoint(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".forward")
}
