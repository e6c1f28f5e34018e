package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/logfanin/logfanin/internal/wire"
)

// config is the parsed command line.
type config struct {
	listen       []string
	out          string
	maxSize      int
	maxBackups   int
	maxAge       int
	compress     bool
	localTime    bool
	maxRecord    int
	socketMode   os.FileMode
	peerCred     bool
	drainTimeout time.Duration
	quiet        bool
	command      []string // supervise mode when not empty
}

// usageError is a bad command line: one line on stderr, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{socketMode: 0o600}
	fs := flag.NewFlagSet("logfanin", flag.ContinueOnError)
	// The flag package would print the whole usage with every error; a
	// wrong flag gets one line instead, and -h the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	usage := func() {
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "Usage:\n  logfanin [flags] -listen ADDR ...        serve until SIGTERM\n  logfanin [flags] -- COMMAND [ARGS...]    supervise COMMAND\n\nADDR is unix://PATH (stream), unixgram://PATH (datagram) or fd:N (inherited pipe).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.Func("listen", "address to serve, repeatable: unix://PATH, unixgram://PATH or fd:N (supervise mode default: a stream socket in a private temporary directory)", func(s string) error {
		c.listen = append(c.listen, s)
		return nil
	})
	fs.StringVar(&c.out, "out", "-", "output file, or - for standard output")
	fs.IntVar(&c.maxSize, "max-size", 100, "rotate the output file when it reaches this many megabytes")
	fs.IntVar(&c.maxBackups, "max-backups", 0, "rotated files to keep (0: keep all)")
	fs.IntVar(&c.maxAge, "max-age", 0, "days to keep rotated files (0: no age limit)")
	fs.BoolVar(&c.compress, "compress", false, "gzip rotated files")
	fs.BoolVar(&c.localTime, "local-time", false, "name rotated files in local time instead of UTC")
	fs.IntVar(&c.maxRecord, "max-record", wire.DefaultMaxRecord, "largest record in bytes; larger ones are refused and counted")
	fs.Func("socket-mode", "permissions of created socket files, octal (default 0600)", func(s string) error {
		m, err := strconv.ParseUint(s, 8, 32)
		if err != nil || m > 0o777 {
			return fmt.Errorf("want an octal mode such as 0660")
		}
		c.socketMode = os.FileMode(m)
		return nil
	})
	fs.BoolVar(&c.peerCred, "peer-cred", false, "stamp each record with the sender's pid, uid and gid from the kernel (peer_pid, peer_uid, peer_gid)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Second, "on shutdown, how long to wait for senders to finish")
	fs.BoolVar(&c.quiet, "quiet", false, "don't print the summary line at exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, err
		}
		return nil, &usageError{msg: err.Error()}
	}
	c.command = fs.Args()
	if len(c.command) == 0 && len(c.listen) == 0 {
		return nil, &usageError{msg: "nothing to do: give -listen ADDR or a command after --"}
	}
	if c.out == "" {
		return nil, &usageError{msg: "-out must not be empty (use - for standard output)"}
	}
	if c.maxRecord <= 0 || c.maxRecord > wire.MaxRecordLimit {
		return nil, &usageError{msg: fmt.Sprintf("-max-record %d out of range 1…%d", c.maxRecord, wire.MaxRecordLimit)}
	}
	for _, a := range c.listen {
		if _, err := wire.ParseAddr(a); err != nil {
			return nil, &usageError{msg: "-listen: " + err.Error()}
		}
	}
	return c, nil
}
