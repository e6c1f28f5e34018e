package stress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/stress/internal/sidecar"
	"github.com/logfanin/logfanin/writer"
)

// drainTimeout bounds the writer's drain at the end of a round. Every
// producer has exited by then, so the drain only reads what is queued.
const drainTimeout = time.Minute

// hupEvery is how often the output is renamed away and reopened in the
// hup fault.
const hupEvery = 25 * time.Millisecond

// BuildSidecar builds the logfanin binary into dir and returns its path.
// It works from any directory inside the module.
func BuildSidecar(dir string) (string, error) {
	bin, err := sidecar.Build(dir)
	if err != nil {
		return "", fmt.Errorf("stress: %w", err)
	}
	return bin, nil
}

// address returns the address the producers of a fan-in mode use.
func (rd *round) address() string {
	switch rd.mode.transport {
	case wire.Stream:
		return "unix://" + filepath.Join(rd.dir, "s.sock")
	case wire.Datagram:
		return "unixgram://" + filepath.Join(rd.dir, "d.sock")
	}
	return "fd:3"
}

// WaitSocket waits for a writer to create the socket of addr (up to 30
// s): the writer binds the socket under another name and renames it into
// place, so it serves from the moment the name exists. It gives up when
// exited is closed (the writer exited) or ctx is done.
func WaitSocket(ctx context.Context, addr string, exited <-chan struct{}) error {
	a, err := wire.ParseAddr(addr)
	if err != nil || a.Transport == wire.Pipe {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(a.Path); err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("the writer exited before creating its socket")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no socket at %s after 30s", a.Path)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var partialRE = regexp.MustCompile(`\bpartial=(\d+)`)

// sidecar runs a round through the logfanin binary in listen mode and
// returns the partial records it reported on exit.
func (rd *round) sidecar(ctx context.Context) (int, error) {
	addr := rd.address()
	maxMB := 0
	if rd.mode.rotate {
		maxMB = sidecarRotateMB
	}
	args := []string{"-listen", addr, "-out", rd.out, "-max-size", strconv.Itoa(maxMB),
		"-compress=" + strconv.FormatBool(rd.mode.compress), "-drain-timeout", drainTimeout.String()}
	cmd := exec.Command(rd.cfg.Sidecar, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var pr, pw *os.File
	if rd.mode.transport == wire.Pipe {
		var err error
		if pr, pw, err = os.Pipe(); err != nil {
			return 0, err
		}
		defer pw.Close()
		cmd.ExtraFiles = []*os.File{pr}
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if pr != nil {
		pr.Close()
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	fail := func(err error) (int, error) {
		cmd.Process.Kill()
		<-exited
		return 0, fmt.Errorf("%w\nlogfanin: %s", err, stderr.String())
	}
	if err := WaitSocket(ctx, addr, exited); err != nil {
		return fail(err)
	}
	var rot *rotator
	if rd.mode.fault == faultHup {
		rot = startRotator(rd.out, hupEvery, func() error { return cmd.Process.Signal(syscall.SIGHUP) })
	}
	var extra []*os.File
	if pw != nil {
		extra = []*os.File{pw}
	}
	perr := rd.runProducers(ctx, addr, extra...)
	if pw != nil {
		// Only the producers held the write end: the writer sees the end
		// of the pipe once they have all exited.
		pw.Close()
	}
	if rot != nil {
		n, err := rot.Stop()
		perr = errors.Join(perr, err)
		if n == 0 {
			perr = errors.Join(perr, errors.New("the output was never renamed and reopened"))
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	if waitErr != nil {
		return 0, errors.Join(perr, fmt.Errorf("logfanin after SIGTERM: %w\n%s", waitErr, stderr.String()))
	}
	m := partialRE.FindAllStringSubmatch(stderr.String(), -1)
	if len(m) == 0 {
		return 0, errors.Join(perr, fmt.Errorf("no summary line with partial=N from logfanin:\n%s", stderr.String()))
	}
	partial, _ := strconv.Atoi(m[len(m)-1][1])
	return partial, perr
}

// writer runs a round through package writer in this process and returns
// the partial records it counted.
func (rd *round) writer(ctx context.Context) (int, error) {
	maxMB := 0
	if rd.mode.rotate {
		maxMB = sidecarRotateMB
	}
	out, err := writer.NewFileOutput(writer.FileConfig{Path: rd.out, MaxSizeMB: maxMB, Compress: rd.mode.compress})
	if err != nil {
		return 0, err
	}
	diag := syncbuf.Buffer{Limit: 64 << 10}
	srv := writer.New(out, writer.WithDiagnostics(&diag))
	addr := rd.address()
	var extra []*os.File
	if rd.mode.transport == wire.Pipe {
		pr, pw, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		if err := srv.AddPipeEnds(pr, pw); err != nil {
			return 0, err
		}
		extra = []*os.File{pw}
	} else if err := srv.Listen(addr); err != nil {
		srv.Shutdown(ctx)
		return 0, err
	}
	var rot *rotator
	if rd.mode.fault == faultHup {
		rot = startRotator(rd.out, hupEvery, srv.Reopen)
	}
	perr := rd.runProducers(ctx, addr, extra...)
	if rot != nil {
		_, err := rot.Stop()
		perr = errors.Join(perr, err)
	}
	sctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		perr = errors.Join(perr, fmt.Errorf("writer shutdown: %w\n%s", err, diag.String()))
	}
	st := srv.Stats()
	if st.Lost > 0 || st.TooLarge > 0 || st.ProtocolErrors > 0 {
		perr = errors.Join(perr, fmt.Errorf("writer: %v\n%s", st, diag.String()))
	}
	return int(st.Partial), perr
}

// direct runs a round of producers appending to the file themselves.
func (rd *round) direct(ctx context.Context) error {
	return rd.runProducers(ctx, "")
}

var dgramLimit struct {
	once sync.Once
	n    int
}

// datagramLimit is the largest record the sink sends as one datagram on
// this machine: the send buffer it can get (it asks for at least 1 MiB,
// the kernel caps that at net.core.wmem_max and doubles it) less the
// kernel's overhead, and at most the default record limit.
func datagramLimit() int {
	dgramLimit.once.Do(func() {
		dgramLimit.n = 64 << 10
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
		if err != nil {
			return
		}
		defer unix.Close(fd)
		unix.CloseOnExec(fd)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, wire.DefaultMaxRecord+64)
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err == nil && v > 32 {
			dgramLimit.n = min(v-32, wire.DefaultMaxRecord)
		}
	})
	return dgramLimit.n
}
