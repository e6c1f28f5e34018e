package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// FindRsyslogd returns the path of rsyslogd, installing the Debian package
// with apt-get when it is missing and install is true. When it can't, it
// returns "" and a note saying why; it never fails the benchmark.
func FindRsyslogd(install bool, progress io.Writer) (path, note string) {
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p, ""
	}
	for _, p := range []string{"/usr/sbin/rsyslogd", "/sbin/rsyslogd"} {
		if _, err := os.Stat(p); err == nil {
			return p, ""
		}
	}
	if !install {
		return "", "rsyslogd not installed"
	}
	fmt.Fprintln(progress, "rsyslogd missing: apt-get install -y rsyslog")
	run := func(args ...string) error {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %v: %v: %s", args, err, lastLine(out.String()))
		}
		return nil
	}
	if err := run("install", "-y", "rsyslog"); err != nil {
		if err2 := run("update"); err2 != nil {
			return "", "rsyslog not installed: " + err2.Error()
		}
		if err := run("install", "-y", "rsyslog"); err != nil {
			return "", "rsyslog not installed: " + err.Error()
		}
	}
	for _, p := range []string{"/usr/sbin/rsyslogd", "/sbin/rsyslogd"} {
		if _, err := os.Stat(p); err == nil {
			return p, ""
		}
	}
	return "", "rsyslog installed but rsyslogd not found"
}

func lastLine(s string) string {
	s = string(bytes.TrimSpace([]byte(s)))
	if i := bytes.LastIndexByte([]byte(s), '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// rsyslogConf receives datagrams on its own socket and writes each message,
// exactly as received, as one line, with buffered asynchronous file output.
// No rate limiting, no control character escaping, messages up to 256 KiB.
const rsyslogConf = `global(maxMessageSize="256k" workDirectory="%[1]s" parser.escapeControlCharactersOnReceive="off")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="%[2]s" RateLimit.Interval="0" CreatePath="on")
main_queue(queue.type="FixedArray" queue.size="100000" queue.timeoutEnqueue="0" queue.dequeueBatchSize="1024")
template(name="raw" type="string" string="%%rawmsg%%\n")
action(type="omfile" file="%[3]s" template="raw" asyncWriting="on" ioBufferSize="256k" flushOnTXEnd="off" flushInterval="1")
`

type rsyslog struct {
	cmd    *exec.Cmd
	sock   string
	out    string
	stderr bytes.Buffer
	rss    *rssMonitor
}

func startRsyslog(bin, dir, out string) (*rsyslog, error) {
	r := &rsyslog{sock: filepath.Join(dir, "rsyslog.sock"), out: out}
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, rsyslogConf, dir, r.sock, out), 0o644); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslog.pid"))
	r.cmd.Stdout, r.cmd.Stderr = &r.stderr, &r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	r.rss = monitorRSS(r.cmd.Process.Pid)
	if !awaitSocket(r.sock) {
		r.kill()
		return nil, fmt.Errorf("rsyslogd did not create its socket: %s", r.stderr.String())
	}
	return r, nil
}

// finish waits until the output holds want lines, or stops growing for
// two seconds (bounded by a minute), then stops rsyslogd.
func (r *rsyslog) finish(want int) (writerStats, error) {
	var ws writerStats
	lines, size := 0, int64(0)
	var f *os.File
	buf := make([]byte, 1<<20)
	lastGrowth := time.Now()
	deadline := time.Now().Add(time.Minute)
	for lines < want {
		if f == nil {
			f, _ = os.Open(r.out)
		}
		if f != nil {
			for {
				n, err := f.Read(buf)
				lines += bytes.Count(buf[:n], []byte{'\n'})
				size += int64(n)
				if n > 0 {
					lastGrowth = time.Now()
				}
				if err != nil || n == 0 {
					break
				}
			}
		}
		if lines >= want {
			break
		}
		if time.Since(lastGrowth) > 2*time.Second || time.Now().After(deadline) {
			ws.note = fmt.Sprintf("rsyslog output stopped at %d of %d lines", lines, want)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if f != nil {
		f.Close()
	}
	ws.done = time.Now()
	if ws.note != "" {
		ws.done = lastGrowth
	}
	r.rss.sample(r.cmd.Process.Pid)
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.cmd.Wait()
	ws.peakRSS = r.rss.finish()
	ws.ru, _ = r.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ws, nil
}

func (r *rsyslog) pid() int { return r.cmd.Process.Pid }

func (r *rsyslog) kill() {
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.rss.finish()
}
