package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// stderrLines starts cmd with its standard error on a pipe and returns
// the lines it prints.
func stderrLines(t *testing.T, cmd *exec.Cmd) <-chan string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// waitLine returns the first line containing sub.
func waitLine(t *testing.T, lines <-chan string, sub string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("standard error ended before a line with %q", sub)
			}
			if strings.Contains(l, sub) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line with %q", sub)
		}
	}
}

func sendRecords(t *testing.T, sock string, n int) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b []byte
	for range n {
		b = wire.AppendFrame(b, []byte(`{"msg":"hello"}`))
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestStatsOnSIGUSR1AndMetrics: the counters can be read while the writer
// runs, on SIGUSR1 in its diagnostics and from the Prometheus endpoint.
func TestStatsOnSIGUSR1AndMetrics(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	cmd, _ := logfanin(t, "-listen", "unix://"+sock, "-out", filepath.Join(dir, "app.log"), "-metrics", "127.0.0.1:0")
	lines := stderrLines(t, cmd)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		for range lines {
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("logfanin: %v", err)
		}
	}()
	url := strings.TrimPrefix(waitLine(t, lines, "metrics on "), "logfanin: metrics on ")
	waitFor(t, "socket", exists(sock))
	sendRecords(t, sock, 5)

	var body string
	waitFor(t, "records_total 5", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, "\nlogfanin_records_total 5\n")
	})
	for _, want := range []string{"# TYPE logfanin_records_total counter", "# TYPE logfanin_clients gauge", "logfanin_partial_records_total 0", "logfanin_rotations_total 0", "logfanin_write_errors_total 0", "logfanin_connections_total 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	if l := waitLine(t, lines, "records="); !strings.Contains(l, "records=5 ") {
		t.Errorf("SIGUSR1 stats line: %s", l)
	}
}

// TestMetricsUnixSocket: -metrics unix:///PATH serves the same page.
func TestMetricsUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock, msock := filepath.Join(dir, "s.sock"), filepath.Join(dir, "m.sock")
	cmd, stderr := logfanin(t, "-listen", "unix://"+sock, "-out", filepath.Join(dir, "app.log"), "-metrics", "unix://"+msock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "metrics socket", func() bool {
		c, err := net.Dial("unix", msock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	// The metrics socket gets the care of the log sockets: mode 0600.
	if fi, err := os.Stat(msock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("metrics socket: %v, %v; want mode 0600", fi.Mode(), err)
	}
	hc := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", msock)
	}}}
	resp, err := hc.Get("http://logfanin/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "logfanin_records_total 0") {
		t.Errorf("metrics:\n%s", b)
	}
	hc.CloseIdleConnections()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logfanin: %v\n%s", err, stderr)
	}
	if _, err := os.Lstat(msock); !os.IsNotExist(err) {
		t.Errorf("metrics socket left behind: %v", err)
	}
}

// TestSystemdActivation: started with a listening socket on descriptor 3
// and LISTEN_FDS=1, LISTEN_PID=its pid, the writer serves that socket with
// no -listen flag, as under a systemd .socket unit.
func TestSystemdActivation(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "activated.sock")
	out := filepath.Join(dir, "app.log")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lf, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := self("-out", out)
	cmd.Env = append(os.Environ(), envHelperRole+"=systemd", "LISTEN_FDS=1", "LISTEN_FDNAMES=logfanin.socket")
	cmd.ExtraFiles = []*os.File{lf}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	l.SetUnlinkOnClose(false)
	l.Close() // only the writer holds the socket now
	p := producer(1, 200, 5000, "unix://"+sock)
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logfanin: %v\n%s", err, stderr.String())
	}
	verify(t, out, map[int]int{1: 200})
}
