// Package backups names and lists the rotated files of a log file, in the
// naming lumberjack uses and direct mode follows: app.log is rotated to
// app-2006-01-02T15-04-05.000.log in the same directory and compressed to
// app-2006-01-02T15-04-05.000.log.gz. Direct mode rotates and prunes by
// it, the writer compresses what lumberjack rotated, and logcheck reads a
// log back with its backups.
package backups

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// TimeFormat is the time stamp in backup names.
const TimeFormat = "2006-01-02T15-04-05.000"

// Name returns the name of the backup of path rotated at t, in t's
// location.
func Name(path string, t time.Time) string {
	prefix, ext := split(path)
	return prefix + t.Format(TimeFormat) + ext
}

// split splits /dir/app.log into "/dir/app-" and ".log".
func split(path string) (prefix, ext string) {
	ext = filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-", ext
}

// Backup is one rotated file. It has two forms at once when a compression
// was interrupted after writing the .gz and before removing the plain file.
type Backup struct {
	Time      time.Time
	Plain, GZ string // paths, "" if absent
}

// List returns the backups of path, oldest first, reading their time
// stamps in loc. Files beside path whose names do not parse as backups of
// it are left out.
func List(path string, loc *time.Location) ([]Backup, error) {
	prefix, ext := split(path)
	dir, base := filepath.Split(prefix)
	read := dir
	if read == "" {
		read = "."
	}
	entries, err := os.ReadDir(read)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	byTime := map[time.Time]*Backup{}
	for _, e := range entries {
		name := e.Name()
		stamp, ok := strings.CutPrefix(name, base)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		gz := false
		if s, ok := strings.CutSuffix(stamp, ext+".gz"); ok {
			stamp, gz = s, true
		} else if s, ok := strings.CutSuffix(stamp, ext); ok {
			stamp = s
		} else {
			continue
		}
		t, err := time.ParseInLocation(TimeFormat, stamp, loc)
		if err != nil {
			continue
		}
		b := byTime[t]
		if b == nil {
			b = &Backup{Time: t}
			byTime[t] = b
		}
		if gz {
			b.GZ = filepath.Join(dir, name)
		} else {
			b.Plain = filepath.Join(dir, name)
		}
	}
	list := make([]Backup, 0, len(byTime))
	for _, b := range byTime {
		list = append(list, *b)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Time.Before(list[j].Time) })
	return list, nil
}
