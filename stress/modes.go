package stress

import (
	"fmt"
	"sort"
	"strings"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/wire"
)

// Server kinds: who writes the output file.
const (
	serverSidecar   = "sidecar"   // the logfanin binary, listen mode
	serverWriter    = "writer"    // package writer, in the driving process
	serverSupervise = "supervise" // the logfanin binary, supervise mode: logfanin -- POOL
	serverDirect    = "direct"    // no writer: package atomicwrite in every producer
	serverNaive     = "naive"     // a control: a way of writing that is known to break
)

// Faults injected while a mode runs.
const (
	faultKill = "kill" // a producer is killed with SIGKILL in the middle of a large record
	faultHup  = "hup"  // the output is renamed away and the writer sent SIGHUP, repeatedly
)

// Naive ways of writing, for the controls.
const (
	naiveTrunc  = "trunc"  // buffered writers on a descriptor without O_APPEND
	naiveAppend = "append" // 4 KiB bufio.Writers on O_APPEND descriptors
	naivePipe   = "pipe"   // 64 KiB writes into one shared pipe, copied to the file by a line reader
)

// Mode is one way of getting records from many processes into one log.
type Mode struct {
	Name string
	Desc string

	// Control marks a naive writer that the verifier must catch: the
	// run of a control succeeds when its output is found broken.
	Control bool

	// Bug, if set, says which known bug the mode shows: such a mode is
	// left out of "all" and "safe" and run only by name or as "bugs".
	Bug string

	server    string
	transport string // wire.Stream, wire.Datagram or wire.Pipe for fan-in
	locking   atomicwrite.Locking
	rotate    bool // rotate the output at a small size
	compress  bool // gzip rotated files
	fault     string
	naive     string
}

// Small rotation sizes, so that every run rotates many times.
const (
	sidecarRotateMB = 1         // -max-size of the sidecar and writer.FileConfig.MaxSizeMB
	directRotate    = 256 << 10 // atomicwrite.WithMaxSize
)

var modes = []Mode{
	{Name: "sidecar-stream", Desc: "logfanin binary, unix:// stream, rotation at 1 MB, a producer killed mid-frame",
		server: serverSidecar, transport: wire.Stream, rotate: true, fault: faultKill},
	{Name: "sidecar-dgram", Desc: "logfanin binary, unixgram:// datagrams, rotation at 1 MB",
		server: serverSidecar, transport: wire.Datagram, rotate: true},
	{Name: "sidecar-pipe", Desc: "logfanin binary, inherited fd:3 pipe, rotation at 1 MB, a producer killed mid-record",
		server: serverSidecar, transport: wire.Pipe, rotate: true, fault: faultKill},
	{Name: "sidecar-hup", Desc: "logfanin binary, unix:// stream, output renamed away and SIGHUP under load",
		server: serverSidecar, transport: wire.Stream, fault: faultHup},
	{Name: "sidecar-supervise", Desc: "logfanin binary, supervise mode: a pool process whose children log over LOGFANIN_ADDR and LOGFANIN_PIPE",
		server: serverSupervise, rotate: true},
	{Name: "writer-stream", Desc: "package writer in-process, unix:// stream, rotation at 1 MB, a producer killed mid-frame",
		server: serverWriter, transport: wire.Stream, rotate: true, fault: faultKill},
	{Name: "writer-dgram", Desc: "package writer in-process, unixgram:// datagrams, rotation at 1 MB",
		server: serverWriter, transport: wire.Datagram, rotate: true},
	{Name: "writer-pipe", Desc: "package writer in-process, shared pipe, rotation at 1 MB, a producer killed mid-record",
		server: serverWriter, transport: wire.Pipe, rotate: true, fault: faultKill},
	{Name: "direct-auto", Desc: "atomicwrite, LockAuto (O_APPEND, flock above PIPE_BUF)",
		server: serverDirect, locking: atomicwrite.LockAuto},
	{Name: "direct-auto-rotate", Desc: "atomicwrite, LockAuto, rotation at 256 KiB with gzip",
		server: serverDirect, locking: atomicwrite.LockAuto, rotate: true, compress: true},
	{Name: "direct-always", Desc: "atomicwrite, LockAlways (flock around every record)",
		server: serverDirect, locking: atomicwrite.LockAlways},
	{Name: "direct-always-rotate", Desc: "atomicwrite, LockAlways, rotation at 256 KiB",
		server: serverDirect, locking: atomicwrite.LockAlways, rotate: true},
	{Name: "sidecar-gzip", Desc: "logfanin binary, unix:// stream, rotation at 1 MB with -compress, SIGTERM right after the last record",
		server: serverSidecar, transport: wire.Stream, rotate: true, compress: true},

	{Name: "naive-trunc", Desc: "control: bufio writers on descriptors without O_APPEND", Control: true,
		server: serverNaive, naive: naiveTrunc},
	{Name: "naive-append", Desc: "control: unsynchronised 4 KiB bufio writers on O_APPEND", Control: true,
		server: serverNaive, naive: naiveAppend},
	{Name: "naive-pipe", Desc: "control: 64 KiB writes into one shared pipe, copied to the file line by line", Control: true,
		server: serverNaive, naive: naivePipe},
}

// Modes returns every mode, the controls last.
func Modes() []Mode { return append([]Mode(nil), modes...) }

// SelectModes parses a comma-separated list of mode names. "all" is every
// mode but those showing a known bug, "safe" the same without the
// controls, "controls" the controls, "bugs" the modes showing a known
// bug; a name ending in "*" selects every mode with that prefix.
func SelectModes(list string) ([]Mode, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		n := 0
		for _, m := range modes {
			ok := name == m.Name ||
				name == "all" && m.Bug == "" ||
				name == "safe" && !m.Control && m.Bug == "" ||
				name == "controls" && m.Control ||
				name == "bugs" && m.Bug != "" ||
				strings.HasSuffix(name, "*") && strings.HasPrefix(m.Name, strings.TrimSuffix(name, "*"))
			if ok {
				want[m.Name] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("stress: unknown mode %q (known: %s)", name, strings.Join(ModeNames(), ", "))
		}
	}
	var out []Mode
	for _, m := range modes {
		if want[m.Name] {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("stress: no mode selected")
	}
	return out, nil
}

// ModeNames returns the names of every mode, sorted.
func ModeNames() []string {
	var names []string
	for _, m := range modes {
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}
