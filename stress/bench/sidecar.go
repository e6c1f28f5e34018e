package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// writerProc is a writer process: the sidecar or rsyslogd.
type writerProc interface {
	// finish waits until the writer has written what the producers sent
	// (want records), stops it and returns its usage.
	finish(want int) (writerStats, error)
	kill()
	pid() int
}

type writerStats struct {
	ru      *syscall.Rusage
	peakRSS int64
	writes  uint64
	done    time.Time // when the output was complete
	note    string
}

// sidecar is a running logfanin binary.
type sidecar struct {
	name   string // in errors: "sidecar", or the server that stands in for it
	cmd    *exec.Cmd
	addr   string
	pipeW  *os.File
	stderr bytes.Buffer
	rss    *rssMonitor
}

// startSidecar starts the logfanin binary listening on one address of the
// given scheme and writing to out, and waits until it serves.
func startSidecar(bin, scheme, dir, out string) (*sidecar, error) {
	return startSidecarArgs(bin, scheme, dir, []string{"-out", out, "-max-size", "0"}, nil)
}

func startSidecarArgs(bin, scheme, dir string, args []string, stdout io.Writer) (*sidecar, error) {
	s := &sidecar{name: "sidecar"}
	var listen string
	var files []*os.File
	var pr *os.File
	switch scheme {
	case "fd":
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		pr, s.pipeW = r, w
		files = []*os.File{r}
		listen, s.addr = "fd:3", "fd:3"
	default:
		sock := filepath.Join(dir, scheme+".sock")
		listen = scheme + "://" + sock
		s.addr = listen
	}
	s.cmd = exec.Command(bin, append([]string{"-listen", listen}, args...)...)
	s.cmd.ExtraFiles = files
	s.cmd.Stderr = &s.stderr
	s.cmd.Stdout = stdout
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.rss = monitorRSS(s.cmd.Process.Pid)
	if pr != nil {
		pr.Close()
		return s, nil
	}
	if !awaitSocket(strings.TrimPrefix(listen, scheme+"://")) {
		s.kill()
		return nil, fmt.Errorf("sidecar did not create its socket: %s", s.stderr.String())
	}
	return s, nil
}

// awaitSocket reports whether the socket file at path appeared within
// ten seconds: a server started in the background is serving.
func awaitSocket(path string) bool {
	return waitFor(func() bool { _, err := os.Stat(path); return err == nil }, 10*time.Second) == nil
}

func (s *sidecar) finish(want int) (writerStats, error) {
	if s.pipeW != nil {
		s.pipeW.Close()
	}
	s.rss.sample(s.cmd.Process.Pid)
	s.cmd.Process.Signal(syscall.SIGTERM)
	err := s.cmd.Wait()
	ws := writerStats{done: time.Now(), peakRSS: s.rss.finish()}
	ws.ru, _ = s.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if err != nil {
		return ws, fmt.Errorf("%s: %v: %s", s.name, err, s.stderr.String())
	}
	m := statRe.FindAllStringSubmatch(s.stderr.String(), -1)
	if len(m) == 0 {
		return ws, fmt.Errorf("%s printed no stats line: %s", s.name, s.stderr.String())
	}
	last := m[len(m)-1]
	ws.writes, _ = strconv.ParseUint(last[2], 10, 64)
	if n, _ := strconv.Atoi(last[1]); n != want {
		ws.note = fmt.Sprintf("%s counted %d records of %d", s.name, n, want)
	}
	return ws, nil
}

func (s *sidecar) pid() int { return s.cmd.Process.Pid }

func (s *sidecar) kill() {
	if s.pipeW != nil {
		s.pipeW.Close()
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.rss.finish()
}

func waitFor(cond func() bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
