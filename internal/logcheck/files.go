package logcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BackupTimeFormat is the timestamp in lumberjack-style backup names,
// name-2006-01-02T15-04-05.000.ext.
const BackupTimeFormat = "2006-01-02T15-04-05.000"

// LogFiles returns the lumberjack-style backups of path, named
// name-<BackupTimeFormat>.ext or the same with ".gz" appended, oldest
// first, followed by path itself if it exists. Backups are ordered by the
// timestamp in their names, which is their rotation order when every
// rotation used the same time zone. A missing directory is an error; no
// files at all is not.
func LogFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("logcheck: %w", err)
	}
	type backup struct {
		name string
		t    time.Time
	}
	var backups []backup
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) {
			continue
		}
		stamp := strings.TrimPrefix(name, prefix)
		switch {
		case strings.HasSuffix(stamp, ext+".gz"):
			stamp = strings.TrimSuffix(stamp, ext+".gz")
		case strings.HasSuffix(stamp, ext):
			stamp = strings.TrimSuffix(stamp, ext)
		default:
			continue
		}
		t, err := time.Parse(BackupTimeFormat, stamp)
		if err != nil {
			continue
		}
		backups = append(backups, backup{filepath.Join(dir, name), t})
	}
	sort.SliceStable(backups, func(i, j int) bool {
		if !backups[i].t.Equal(backups[j].t) {
			return backups[i].t.Before(backups[j].t)
		}
		return backups[i].name < backups[j].name
	})
	out := make([]string, 0, len(backups)+1)
	for _, b := range backups {
		out = append(out, b.name)
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
