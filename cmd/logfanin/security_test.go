package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSocketModeAndGroup: -socket-mode and -socket-group (a name or a
// number) set the socket file's permissions and group; the default is
// 0600 and the writer's group.
func TestSocketModeAndGroup(t *testing.T) {
	for _, tc := range []struct {
		args []string
		mode os.FileMode
		gid  int
	}{
		{nil, 0o600, os.Getegid()},
		{[]string{"-socket-mode", "0660", "-socket-group", "65534"}, 0o660, 65534},
		{[]string{"-socket-mode", "0660", "-socket-group", "root"}, 0o660, 0},
	} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "s.sock")
		cmd, stderr := startWriter(t, sock, append([]string{"-out", filepath.Join(dir, "app.log")}, tc.args...)...)
		fi, err := os.Lstat(sock)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tc.mode || int(fi.Sys().(*syscall.Stat_t).Gid) != tc.gid {
			t.Errorf("%v: socket mode %v gid %d, want %v %d", tc.args, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Gid, tc.mode, tc.gid)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("logfanin: %v\n%s", err, stderr)
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"-socket-group", "no-such-group-xyz", "-listen", "unix:///x"}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "unknown group") {
		t.Errorf("unknown group: status %d, %s", code, &stderr)
	}
}

// TestAllowUIDSidecar: with -allow-uid 0, a producer running as uid 65534
// is refused and counted, while root's records are written.
func TestAllowUIDSidecar(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a producer as another user")
	}
	dir, err := os.MkdirTemp("", "logfanin-allow-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // uid 65534 must reach the socket: the allowlist is the gate
	sock, out := filepath.Join(dir, "s.sock"), filepath.Join(dir, "app.log")
	cmd, _ := logfanin(t, "-listen", "unix://"+sock, "-out", out, "-allow-uid", "0", "-socket-mode", "0666", "-peer-cred")
	lines := stderrLines(t, cmd)
	waitFor(t, "socket", exists(sock))

	nobody := producer(2, 5, 1000, "unix://"+sock)
	nobody.Env = append(nobody.Env, envHelperRole+"=setuid-producer", "LOGFANIN_TEST_UID=65534")
	nobody.Stderr = nil
	if err := nobody.Start(); err != nil {
		t.Fatal(err)
	}
	// The refused producer keeps retrying: give it time to be refused,
	// then stop it.
	waitLine(t, lines, "uid 65534 not allowed")
	nobody.Process.Kill()
	nobody.Wait()
	if err := producer(1, 50, 5000, "unix://"+sock).Run(); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	summary := waitLine(t, lines, "records=")
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logfanin: %v", err)
	}
	verify(t, out, map[int]int{1: 50})
	if !strings.Contains(summary, " refused=") || strings.Contains(summary, " refused=0 ") {
		t.Errorf("summary does not count refusals: %s", summary)
	}
}

// TestOutputSymlinkRefused: an output path that is another user's
// symbolic link is refused at start, with exit status 2.
func TestOutputSymlinkRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a symlink to another user")
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "app.log")
	os.Symlink(filepath.Join(dir, "elsewhere"), link)
	os.Lchown(link, 65534, 65534)
	cmd, stderr := logfanin(t, "-listen", "unix://"+filepath.Join(dir, "s.sock"), "-out", link)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "symbolic link owned by uid 65534") {
		t.Fatalf("want exit 2 naming the symlink's owner: %v\n%s", err, stderr)
	}
}
