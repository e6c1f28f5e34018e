package stress

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/logfanin/logfanin/internal/backups"
)

// victim returns the started producer p that will be killed: it writes
// its records (the ones expected of it), then starts one more large record
// and is killed with SIGKILL in its middle (see startAndHang).
func (rd *round) victim(p int, addr string, extra []*os.File) (*exec.Cmd, error) {
	sp := rd.spec(p, addr)
	sp.Records = max(1, sp.Records/2)
	sp.Ack, sp.Kill = true, true
	cmd, err := rd.command(sp)
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = extra
	return cmd, nil
}

// kill waits for the started victim's word that it is in the middle of a
// record, kills it and reaps it.
func (rd *round) kill(cmd *exec.Cmd, out *bufio.Reader) error {
	line, _ := out.ReadString('\n')
	if strings.TrimSpace(line) != readyLine {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("producer to be killed: said %q, not %q: %s", line, readyLine, cmd.Stderr.(*tailBuffer).String())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("producer to be killed: %v, not killed by SIGKILL", err)
	}
	return nil
}

// rotator renames the log file away, logrotate style, and asks the writer
// to reopen it with reopen (SIGHUP), over and over until stopped. Each
// backup is named as a rotated file, so the verifier reads it in order.
type rotator struct {
	path   string
	reopen func() error
	every  time.Duration

	stop chan struct{}
	wg   sync.WaitGroup
	n    int
	err  error
}

func startRotator(path string, every time.Duration, reopen func() error) *rotator {
	r := &rotator{path: path, reopen: reopen, every: every, stop: make(chan struct{})}
	r.wg.Add(1)
	go r.run()
	return r
}

func (r *rotator) run() {
	defer r.wg.Done()
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		// Only a file the writer has written to since the last reopen:
		// before that, the path is missing or empty.
		if fi, err := os.Stat(r.path); err != nil || fi.Size() == 0 {
			continue
		}
		// link(2) never replaces an existing name, unlike rename(2):
		// a backup name taken in the same millisecond is retried.
		backup := backups.Name(r.path, time.Now().UTC())
		if err := os.Link(r.path, backup); err != nil {
			if os.IsExist(err) {
				continue
			}
			r.err = err
			return
		}
		if err := os.Remove(r.path); err != nil {
			r.err = err
			return
		}
		if err := r.reopen(); err != nil {
			r.err = err
			return
		}
		r.n++
	}
}

// Stop stops the rotator and returns how many times it rotated, and its
// error.
func (r *rotator) Stop() (int, error) {
	close(r.stop)
	r.wg.Wait()
	return r.n, r.err
}
