package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/logfanin/logfanin/forward"
	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/writer"
)

// lookupGroup takes a group name or number.
func lookupGroup(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, fmt.Errorf("unknown group %q", s)
	}
	return strconv.Atoi(g.Gid)
}

// config is the parsed command line.
type config struct {
	listen         []string
	out            string
	maxSize        int
	maxBackups     int
	maxAge         int
	compress       bool
	localTime      bool
	maxRecord      int
	socketMode     os.FileMode
	socketGroup    int // -1: leave alone
	allowUIDs      []uint32
	metrics        string
	idleTimeout    time.Duration
	maxFrameMemory int
	maxRing        int
	systemd        bool // take listeners from systemd (-listen systemd, or LISTEN_PID is ours)
	peerCred       bool
	drainTimeout   time.Duration
	quiet          bool
	command        []string // supervise mode when not empty
	forward        forwardConfig
	fwd            *forward.Forwarder // of -forward, made by run
}

// usageError is a bad command line: one line on stderr, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{socketMode: 0o600, socketGroup: -1}
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
	fs.Func("listen", "address to serve, repeatable: unix://PATH, unixgram://PATH, fd:N, or systemd for the sockets of systemd socket activation (the default when LISTEN_PID names this process; supervise mode default: a stream socket in a private temporary directory)", func(s string) error {
		if s == "systemd" {
			c.systemd = true
			return nil
		}
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
	fs.Func("socket-group", "group of created socket files, a name or a number (default: the writer's group); use with -socket-mode 0660", func(s string) error {
		gid, err := lookupGroup(s)
		if err != nil {
			return err
		}
		c.socketGroup = gid
		return nil
	})
	fs.Func("allow-uid", "comma-separated uids allowed to send over sockets, such as 0,1000; others are refused and counted (default: anyone the socket mode lets in)", func(s string) error {
		for _, f := range strings.Split(s, ",") {
			u, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
			if err != nil {
				return fmt.Errorf("want uids such as 0,1000, got %q", f)
			}
			c.allowUIDs = append(c.allowUIDs, uint32(u))
		}
		return nil
	})
	fs.StringVar(&c.metrics, "metrics", "", "serve counters in the Prometheus text format at http://ADDR/metrics: HOST:PORT or unix:///PATH (default: off)")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", wire.DefaultIdleTimeout, "close a stream connection that stalls this long inside a frame, and drop a pipe record unfinished this long")
	fs.IntVar(&c.maxFrameMemory, "max-frame-memory", writer.DefaultMaxFrameMemory, "bytes of large frames in flight, all connections together; others wait")
	fs.IntVar(&c.maxRing, "max-ring", writer.DefaultMaxRing, "largest shared ring a client may pass, in bytes; 0 refuses rings (clients then use the socket)")
	fs.BoolVar(&c.peerCred, "peer-cred", false, "stamp each record with the sender's pid, uid and gid from the kernel (peer_pid, peer_uid, peer_gid)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Second, "on shutdown, how long to wait for senders to finish")
	fs.BoolVar(&c.quiet, "quiet", false, "don't print the summary line at exit")
	forwardFlags(fs, &c.forward)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, err
		}
		return nil, &usageError{msg: err.Error()}
	}
	c.command = fs.Args()
	if len(c.listen) == 0 && systemdActivated() {
		c.systemd = true
	}
	if len(c.command) == 0 && len(c.listen) == 0 && !c.systemd {
		return nil, &usageError{msg: "nothing to do: give -listen ADDR or a command after --"}
	}
	if c.out == "" {
		return nil, &usageError{msg: "-out must not be empty (use - for standard output)"}
	}
	if c.maxRecord <= 0 || c.maxRecord > wire.MaxRecordLimit {
		return nil, &usageError{msg: fmt.Sprintf("-max-record %d out of range 1…%d", c.maxRecord, wire.MaxRecordLimit)}
	}
	if c.idleTimeout <= 0 {
		return nil, &usageError{msg: "-idle-timeout must be positive"}
	}
	if c.maxRing < 0 {
		return nil, &usageError{msg: "-max-ring must not be negative"}
	}
	if c.maxFrameMemory <= 0 {
		return nil, &usageError{msg: "-max-frame-memory must be positive"}
	}
	if c.metrics != "" {
		if _, _, err := metricsAddr(c.metrics); err != nil {
			return nil, &usageError{msg: "-metrics: " + err.Error()}
		}
	}
	for _, a := range c.listen {
		if _, err := wire.ParseAddr(a); err != nil {
			return nil, &usageError{msg: "-listen: " + err.Error()}
		}
	}
	if err := checkForward(c); err != nil {
		return nil, err
	}
	return c, nil
}
