package logcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/logfanin/logfanin/internal/backups"
)

// LogFiles returns the lumberjack-style backups of path (see
// internal/backups), oldest first, a backup in both forms plain before
// .gz, followed by path itself if it exists. Backups are ordered by the
// timestamp in their names, which is their rotation order when every
// rotation used the same time zone. A missing directory is an error; no
// files at all is not.
func LogFiles(path string) ([]string, error) {
	list, err := backups.List(path, time.UTC)
	if err != nil {
		return nil, fmt.Errorf("logcheck: %w", err)
	}
	var out []string
	for _, b := range list {
		for _, p := range []string{b.Plain, b.GZ} {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	if _, err := os.Stat(path); err == nil {
		out = append(out, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("logcheck: %w", err)
	}
	return out, nil
}

// CheckLog checks path and all its backups (see LogFiles) against expect.
func CheckLog(expect map[int]int, path string) (Report, error) {
	files, err := LogFiles(path)
	if err != nil {
		return Report{}, err
	}
	return CheckFiles(expect, files...)
}
