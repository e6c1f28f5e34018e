package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is one started producer process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// withProcs sets the GOMAXPROCS of a producer process to
// cfg.ProducerProcs. The in-process contenders keep the default even with
// one producer: they stand for a program that logs from many goroutines.
// Jobs that are no contender (the memory job) keep it too.
func (cfg *Config) withProcs(j job) job {
	if c, ok := contenderByName(j.Contender); ok && c.kind != kindZap && cfg.ProducerProcs > 0 {
		j.MaxProcs = cfg.ProducerProcs
	}
	return j
}

// ProcsName names the GOMAXPROCS of a producer process, n as in
// Config.ProducerProcs after its default is applied.
func ProcsName(n int) string {
	if n <= 0 {
		return "the runtime's default GOMAXPROCS"
	}
	return fmt.Sprintf("GOMAXPROCS=%d", n)
}

func startChild(cfg *Config, j job, extra []*os.File) (*child, error) {
	spec, err := json.Marshal(cfg.withProcs(j))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Self)
	cmd.Env = append(os.Environ(), envChild+"="+string(spec))
	cmd.ExtraFiles = extra
	cmd.Stderr = os.Stderr
	return startCmd(cmd)
}

// startCmd starts a producer process and waits until it says it is ready.
func startCmd(cmd *exec.Cmd) (*child, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := ch.out.ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		ch.stdin.Close()
		rest, _ := io.ReadAll(ch.out)
		cmd.Wait()
		return nil, fmt.Errorf("producer did not start: %q %s %v", line, rest, err)
	}
	return ch, nil
}

// wait waits for the child and returns the CPU it used after the start
// signal and its peak resident set.
func (c *child) wait() (time.Duration, int64, error) {
	rest, _ := io.ReadAll(c.out)
	err := c.cmd.Wait()
	var res childResult
	if line := bytes.TrimSpace(rest); len(line) > 0 {
		if jerr := json.Unmarshal(line, &res); jerr != nil {
			res.Err = "bad result line: " + string(line)
		}
	}
	ru, _ := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	used := max(cpu(ru)-time.Duration(res.SetupCPU), 0)
	if res.Err != "" {
		err = errors.New(res.Err)
	}
	return used, res.VmHWM, err
}

func cpu(ru *syscall.Rusage) time.Duration {
	if ru == nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
