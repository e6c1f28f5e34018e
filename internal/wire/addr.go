package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// Transport names, as they appear in addresses.
const (
	Stream   = "unix"     // unix://PATH
	Datagram = "unixgram" // unixgram://PATH
	Pipe     = "fd"       // fd:N
)

// EnvAddr is the environment variable that hands a writer's address to
// child processes.
const EnvAddr = "LOGFANIN_ADDR"

// EnvPipe is the environment variable that hands a supervised command the
// shared pipe, as fd:N.
const EnvPipe = "LOGFANIN_PIPE"

// Addr is a parsed writer address.
type Addr struct {
	Transport string // Stream, Datagram or Pipe
	Path      string // socket path, for Stream and Datagram
	FD        int    // file descriptor, for Pipe
}

// ParseAddr parses "unix://PATH", "unixgram://PATH" or "fd:N" and says
// which part it rejects.
func ParseAddr(s string) (Addr, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Addr{}, fmt.Errorf("address %q: no scheme, want unix://PATH, unixgram://PATH or fd:N", s)
	}
	switch scheme {
	case Stream, Datagram:
		path, ok := strings.CutPrefix(rest, "//")
		if !ok || path == "" {
			return Addr{}, fmt.Errorf("address %q: want %s://PATH", s, scheme)
		}
		return Addr{Transport: scheme, Path: path}, nil
	case Pipe:
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return Addr{}, fmt.Errorf("address %q: want fd:N with N a file descriptor number", s)
		}
		return Addr{Transport: Pipe, FD: n}, nil
	}
	return Addr{}, fmt.Errorf("address %q: unknown scheme %q, want unix, unixgram or fd", s, scheme)
}

// String formats a as ParseAddr reads it.
func (a Addr) String() string {
	if a.Transport == Pipe {
		return "fd:" + strconv.Itoa(a.FD)
	}
	return a.Transport + "://" + a.Path
}
