package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/logfanin/logfanin/writer"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "logfanin: %s (see logfanin -h)\n", ue.msg)
		return 2
	}
	fwd, err := newForwarder(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "logfanin: %v\n", err)
		return 2
	}
	cfg.fwd = fwd
	out, err := openOutput(cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "logfanin: %v\n", err)
		return 2
	}
	if fwd != nil {
		fwd.Start()
		defer closeForwarder(cfg, stderr)
	}
	if fo, ok := out.(*writer.FileOutput); ok && fo.TornTail() > 0 {
		fmt.Fprintf(stderr, "logfanin: %s did not end with a newline: removed the %d bytes of a batch a killed writer left unfinished\n", cfg.out, fo.TornTail())
	}
	srv := writer.New(out,
		writer.WithMaxRecord(cfg.maxRecord),
		writer.WithPeerCred(cfg.peerCred),
		writer.WithSocketMode(cfg.socketMode),
		writer.WithSocketGroup(cfg.socketGroup),
		writer.WithAllowUIDs(cfg.allowUIDs...),
		writer.WithIdleTimeout(cfg.idleTimeout),
		writer.WithMaxFrameMemory(cfg.maxFrameMemory),
		writer.WithMaxRing(cfg.maxRing),
		writer.WithDiagnostics(stderr),
	)
	if cfg.metrics != "" {
		stop, err := serveMetrics(cfg, srv, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "logfanin: %v\n", err)
			srv.Shutdown(context.Background())
			return 2
		}
		defer stop()
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)

	if len(cfg.command) > 0 {
		return supervise(cfg, srv, sigs, stderr)
	}
	if _, err := listenAll(cfg, cfg.listen, srv); err != nil {
		fmt.Fprintf(stderr, "logfanin: %v\n", err)
		srv.Shutdown(context.Background())
		return 2
	}
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			reopen(srv, stderr)
		case syscall.SIGUSR1:
			fmt.Fprintf(stderr, "logfanin: %v\n", summary(cfg, srv))
		default:
			if err := shutdown(cfg, srv, stderr); err != nil {
				return 1
			}
			return 0
		}
	}
	return 0
}

// listenAll serves the systemd sockets if asked to, then addrs; it returns
// the addresses served.
func listenAll(cfg *config, addrs []string, srv *writer.Server) ([]string, error) {
	var served []string
	if cfg.systemd {
		a, err := listenSystemd(srv)
		if err != nil {
			return nil, err
		}
		served = append(served, a...)
	}
	for _, a := range addrs {
		if err := srv.Listen(a); err != nil {
			return nil, err
		}
		served = append(served, a)
	}
	return served, nil
}

func openOutput(cfg *config, stdout io.Writer) (writer.Output, error) {
	if cfg.out == "-" {
		return writer.NewStreamOutput(stdout), nil
	}
	return writer.NewFileOutput(writer.FileConfig{
		Path:       cfg.out,
		MaxSizeMB:  cfg.maxSize,
		MaxBackups: cfg.maxBackups,
		MaxAgeDays: cfg.maxAge,
		Compress:   cfg.compress,
		LocalTime:  cfg.localTime,
		Watcher:    watcher(cfg),
	})
}

// watcher is the FileOutput's watcher: the forwarder, if any.
func watcher(cfg *config) writer.FileWatcher {
	if cfg.fwd == nil {
		return nil
	}
	return cfg.fwd
}

func reopen(srv *writer.Server, stderr io.Writer) {
	if err := srv.Reopen(); err != nil {
		fmt.Fprintf(stderr, "logfanin: reopen: %v\n", err)
	}
}

// shutdown drains every sender within the drain timeout and prints the
// summary. A drain cut short by the timeout is routine, since long-lived
// senders stay connected: their whole records are written and the rest is
// counted. Only lost records or a failing output make it an error.
func shutdown(cfg *config, srv *writer.Server, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.drainTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	closeForwarder(cfg, stderr)
	if err != nil && onlyDeadline(err) {
		fmt.Fprintf(stderr, "logfanin: drain timeout (%v) reached: closed the senders still connected\n", cfg.drainTimeout)
		err = nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "logfanin: shutdown: %v\n", err)
	}
	if !cfg.quiet {
		fmt.Fprintf(stderr, "logfanin: %v\n", summary(cfg, srv))
	}
	return err
}

// onlyDeadline reports whether err says nothing but that the drain
// deadline passed.
func onlyDeadline(err error) bool {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if !errors.Is(e, context.DeadlineExceeded) {
			return false
		}
	}
	return true
}
