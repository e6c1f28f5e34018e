// Package pathrule is the rule the writer applies to the paths it creates
// or opens (its output file and its socket files), so that another user
// can't redirect them through a link or a shared directory.
package pathrule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The output file and socket files are created under paths an
// administrator chose, often in shared directories. So that another user
// cannot redirect them, Check refuses a path when
//
//   - its final component is a symbolic link owned by a user other than
//     the writer's effective uid or root (root owns what only root could
//     plant);
//   - its directory, as named, is such a symbolic link;
//   - its directory (after resolving links) is writable by users other than
//     its owner without the sticky bit, so that anyone could swap the file
//     between two opens.
//
// A symlink planted later, between the check and the open, in a
// world-writable sticky directory such as /tmp, is refused by the kernel
// itself where fs.protected_symlinks is on, as it is by default on every
// major distribution. Socket files are never opened through a link: a
// socket path that is a symbolic link is refused, whoever owns it.

// Check applies the rule above to path; what names it in errors.
func Check(path, what string) error {
	if err := checkLink(path, what); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := checkLink(dir, what+" directory"); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // created by the caller, with its own mode
		}
		return fmt.Errorf("%s directory %s: %w", what, dir, err)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return fmt.Errorf("%s directory %s is writable by others (mode %#o) without the sticky bit: refused, anyone could replace %s",
			what, dir, st.Mode&0o7777, filepath.Base(path))
	}
	return nil
}

// checkLink refuses path if it is a symbolic link owned by another user
// than the effective uid or root.
func checkLink(path, what string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil // missing: nothing to follow
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return nil
	}
	if euid := uint32(os.Geteuid()); st.Uid != euid && st.Uid != 0 {
		return fmt.Errorf("%s %s is a symbolic link owned by uid %d, not by uid %d or root: refused", what, path, st.Uid, euid)
	}
	return nil
}
