package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/writer"
)

// supervise runs cfg.command under the writer and returns its exit status.
func supervise(cfg *config, srv *writer.Server, sigs <-chan os.Signal, stderr io.Writer) int {
	listen := cfg.listen
	if len(listen) == 0 && !cfg.systemd {
		dir, err := os.MkdirTemp("", "logfanin-")
		if err != nil {
			fmt.Fprintf(stderr, "logfanin: %v\n", err)
			return 2
		}
		defer os.RemoveAll(dir)
		listen = []string{"unix://" + filepath.Join(dir, "sock")}
	}
	childAddr := ""
	served, err := listenAll(cfg, listen, srv)
	if err != nil {
		fmt.Fprintf(stderr, "logfanin: %v\n", err)
		shutdown(cfg, srv, io.Discard)
		return 2
	}
	for _, a := range served {
		if p, _ := wire.ParseAddr(a); childAddr == "" && p.Transport != wire.Pipe {
			childAddr = a
		}
	}
	cmd, err := startChild(cfg.command, srv, childAddr)
	if err != nil {
		fmt.Fprintf(stderr, "logfanin: %v\n", err)
		shutdown(cfg, srv, io.Discard)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
wait:
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				fmt.Fprintf(stderr, "logfanin: %v\n", summary(cfg, srv))
				continue
			case syscall.SIGHUP:
				reopen(srv, stderr)
			}
			// The child runs in its own process group so that a signal
			// reaches it once; forward to the whole group, as a terminal
			// would.
			syscall.Kill(-cmd.Process.Pid, sig.(syscall.Signal))
		case waitErr = <-done:
			break wait
		}
	}
	if err := shutdown(cfg, srv, stderr); err != nil {
		return 1
	}
	return exitStatus(cmd, waitErr)
}

// startChild starts the command with the writer's address, the shared
// pipe on fd 3, and its stdout and stderr captured as records.
func startChild(argv []string, srv *writer.Server, addr string) (*exec.Cmd, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	// Only children hold the write ends, so each reader sees EOF exactly
	// when the last process that could still log has exited.
	defer pw.Close()
	defer outW.Close()
	defer errW.Close()

	pipeAddr := wire.Addr{Transport: wire.Pipe, FD: 3}.String()
	if addr == "" {
		addr = pipeAddr
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), wire.EnvAddr+"="+addr, wire.EnvPipe+"="+pipeAddr)
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !isTerminal(os.Stdin) {
		// In its own process group the child must not read the terminal.
		cmd.Stdin = os.Stdin
	}
	// The pipe's reader starts first: if the command fails to start, the
	// write end closes below and it ends at once.
	if err := srv.AddPipe(pr); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	// The output readers start once the child's pid is known, to stamp
	// its lines with it; what it writes meanwhile waits in the pipes.
	child := writer.Peer{PID: cmd.Process.Pid, UID: os.Getuid(), GID: os.Getgid()}
	srv.AddLinesFrom("stdout", outR, child)
	srv.AddLinesFrom("stderr", errR, child)
	return cmd, nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

// exitStatus is the child's exit code, or 128+N if signal N killed it, as
// a shell reports it.
func exitStatus(cmd *exec.Cmd, waitErr error) int {
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := cmd.ProcessState.ExitCode(); code >= 0 {
		return code
	}
	if waitErr != nil {
		return 1
	}
	return 0
}
