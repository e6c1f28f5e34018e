package writer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/syncbuf"
)

// TestOutputMovedAway: the output file renamed or deleted without a
// SIGHUP is noticed within the check interval; the writer reopens the path
// and nothing is lost (the renamed file keeps what was written before).
func TestOutputMovedAway(t *testing.T) {
	for _, how := range []string{"rename", "delete"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.log")
			o, err := NewFileOutput(FileConfig{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			o.checkEvery = 20 * time.Millisecond
			s := New(o, WithDiagnostics(&syncbuf.Buffer{}))
			defer s.Shutdown(context.Background())
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(dir, "s.sock")
			if err := s.Listen("unix://" + sock); err != nil {
				t.Fatal(err)
			}
			sds := senders(0, 1, 50, 1000)
			if err := sendStream(sock, sds[0], true); err != nil {
				t.Fatal(err)
			}
			moved := filepath.Join(dir, "moved.log")
			if how == "rename" {
				err = os.Rename(path, moved)
			} else {
				err = os.Remove(path)
			}
			if err != nil {
				t.Fatal(err)
			}
			// Keep logging until the path names a file again.
			i := 1
			waitFor(t, "the output to be reopened", func() bool {
				if err := sendStream(sock, sender{Producer: i, N: 5, Max: 300}, true); err != nil {
					t.Fatal(err)
				}
				sds = append(sds, sender{Producer: i, N: 5, Max: 300})
				i++
				_, err := os.Stat(path)
				return err == nil
			})
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Reopens != 1 {
				t.Errorf("reopens = %d, want 1: %v", st.Reopens, st)
			}
			if how == "rename" {
				checkFiles(t, sds, path, moved)
			} else if lines := jsonLines(t, path); len(lines) == 0 {
				t.Errorf("nothing in the reopened file")
			}
		})
	}
}

// TestSymlinkRule: an output or socket path is not followed through a
// symbolic link another user planted, nor created in a directory others
// can write to without the sticky bit.
func TestSymlinkRule(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a symlink to another user")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target.log")
	plant := func(name string, uid int) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Output: a link of another user is refused, one of our own followed.
	if _, err := NewFileOutput(FileConfig{Path: plant("theirs.log", 65534)}); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("output through another user's symlink: %v, want refused", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("the link's target was created")
	}
	o, err := NewFileOutput(FileConfig{Path: plant("ours.log", 0)})
	if err != nil {
		t.Errorf("output through our own symlink: %v", err)
	} else {
		o.Close()
	}
	// A directory that is another user's symlink.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o700)
	link := filepath.Join(dir, "linkdir")
	os.Symlink(sub, link)
	os.Lchown(link, 65534, 65534)
	if _, err := NewFileOutput(FileConfig{Path: filepath.Join(link, "x.log")}); err == nil {
		t.Errorf("output in another user's symlinked directory accepted")
	}
	s := New(NewStreamOutput(&syncbuf.Buffer{}), WithDiagnostics(&syncbuf.Buffer{}))
	defer s.Shutdown(context.Background())
	if err := s.Listen("unix://" + filepath.Join(link, "s.sock")); err == nil {
		t.Errorf("socket in another user's symlinked directory accepted")
	}
	// Socket: a symlink is refused whoever owns it.
	for _, uid := range []int{65534, 0} {
		p := plant("sock-"+itoa(uid), uid)
		if err := s.Listen("unix://" + p); err == nil {
			t.Errorf("socket path that is a symlink of uid %d accepted", uid)
		}
	}
	// A directory writable by all: refused without the sticky bit,
	// accepted with it.
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if _, err := NewFileOutput(FileConfig{Path: filepath.Join(open, "x.log")}); err == nil || !strings.Contains(err.Error(), "sticky") {
		t.Errorf("output in a world-writable directory: %v, want refused", err)
	}
	if err := s.Listen("unix://" + filepath.Join(open, "s.sock")); err == nil {
		t.Errorf("socket in a world-writable directory accepted")
	}
	os.Chmod(open, os.ModeSticky|0o777)
	o, err = NewFileOutput(FileConfig{Path: filepath.Join(open, "x.log")})
	if err != nil {
		t.Errorf("output in a sticky world-writable directory: %v", err)
	} else {
		o.Close()
	}
}
