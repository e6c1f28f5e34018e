package sink

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logfanin/logfanin/internal/wire"
)

// SinkScheme is the zap sink scheme this package registers when imported:
//
//	import _ "github.com/logfanin/logfanin/sink"
//
//	cfg := zap.NewProductionConfig()
//	cfg.OutputPaths = []string{"logfanin:///run/app.sock?policy=drop"}
//
// See ParseURL for the URL format.
const SinkScheme = "logfanin"

func init() {
	err := zap.RegisterSink(SinkScheme, func(u *url.URL) (zap.Sink, error) {
		addr, opts, err := ParseURL(u)
		if err != nil {
			return nil, err
		}
		return New(addr, opts...)
	})
	if err != nil {
		panic(fmt.Sprintf("logfanin: register zap sink %q: %v", SinkScheme, err))
	}
}

// ParseURL reads a logfanin sink URL into the address and options New
// takes:
//
//	logfanin:///absolute/path/of/socket?option=value&...
//	logfanin:?option=value&...     (or logfanin://) the address in LOGFANIN_ADDR
//
// The path names a stream socket (unix://PATH) unless transport says
// otherwise. A host, user info, fragment or opaque (relative) form is
// rejected. Options, each at most once:
//
//	transport=T       unix (the default) or unixgram; needs a path
//	policy=P          block (the default) or drop (WithPolicy)
//	buffer=N          buffer size: bytes, or a unit B, KiB, MiB or GiB (WithBufferSize)
//	max_record=N      record size limit, same units (WithMaxRecord)
//	ack=BOOL          acknowledgements and replay (WithAck)
//	batch=D           batch delay, a Go duration (WithBatch)
//	fallback=PATH     fallback file, an absolute path (WithFallback)
//	min_backoff=D     reconnection backoff bounds (WithBackoff)
//	max_backoff=D
//	dial_timeout=D    (WithDialTimeout)
//	close_timeout=D   (WithCloseTimeout)
//
// An unknown option or a bad value is an error naming it.
func ParseURL(u *url.URL) (addr string, opts []Option, err error) {
	bad := func(format string, args ...any) (string, []Option, error) {
		return "", nil, fmt.Errorf("logfanin: sink URL %q: "+format, append([]any{u.Redacted()}, args...)...)
	}
	switch {
	case u.Scheme != SinkScheme:
		return bad("scheme %q is not %q", u.Scheme, SinkScheme)
	case u.Opaque != "":
		return bad("relative path %q: use %s:///absolute/path", u.Opaque, SinkScheme)
	case u.User != nil:
		return bad("user info not allowed")
	case u.Host != "":
		return bad("host %q not allowed: use %s:///absolute/path", u.Host, SinkScheme)
	case u.Fragment != "":
		return bad("fragment %q not allowed", u.Fragment)
	case u.Path != "" && !strings.HasPrefix(u.Path, "/"):
		return bad("path %q is not absolute", u.Path)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	transport := wire.Stream
	minB, maxB := DefaultMinBackoff, DefaultMaxBackoff
	backoff := false
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		vals := q[key]
		if len(vals) != 1 {
			return bad("option %q given %d times", key, len(vals))
		}
		v := vals[0]
		var opt Option
		var err error
		switch key {
		case "transport":
			switch v {
			case wire.Stream, wire.Datagram:
				transport = v
			default:
				err = fmt.Errorf("want %s or %s", wire.Stream, wire.Datagram)
			}
		case "policy":
			switch v {
			case "block":
				opt = WithPolicy(Block)
			case "drop":
				opt = WithPolicy(Drop)
			default:
				err = fmt.Errorf("want block or drop")
			}
		case "buffer":
			var n int
			n, err = parseSize(v)
			opt = WithBufferSize(n)
		case "max_record":
			var n int
			n, err = parseSize(v)
			if err == nil && n > wire.MaxRecordLimit {
				err = fmt.Errorf("over %d", wire.MaxRecordLimit)
			}
			opt = WithMaxRecord(n)
		case "ack":
			var b bool
			b, err = strconv.ParseBool(v)
			opt = WithAck(b)
		case "batch":
			var d time.Duration
			d, err = parseDuration(v, true)
			opt = WithBatch(d)
		case "fallback":
			if !strings.HasPrefix(v, "/") {
				err = fmt.Errorf("not an absolute path")
			}
			opt = WithFallback(v)
		case "min_backoff":
			minB, err = parseDuration(v, false)
			backoff = true
		case "max_backoff":
			maxB, err = parseDuration(v, false)
			backoff = true
		case "dial_timeout":
			var d time.Duration
			d, err = parseDuration(v, false)
			opt = WithDialTimeout(d)
		case "close_timeout":
			var d time.Duration
			d, err = parseDuration(v, true)
			opt = WithCloseTimeout(d)
		default:
			return bad("unknown option %q", key)
		}
		if err != nil {
			return bad("option %s=%q: %v", key, v, err)
		}
		if opt != nil {
			opts = append(opts, opt)
		}
	}
	if backoff {
		if maxB < minB {
			return bad("max_backoff %v below min_backoff %v", maxB, minB)
		}
		opts = append(opts, WithBackoff(minB, maxB))
	}
	if u.Path == "" {
		if _, ok := q["transport"]; ok {
			return bad("option transport needs a socket path")
		}
		return "", opts, nil
	}
	return transport + "://" + u.Path, opts, nil
}

// parseSize reads a positive byte count: digits, optionally followed by
// B, KiB, MiB or GiB.
func parseSize(v string) (int, error) {
	num, mult := v, 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil || n == 0 || n > uint64(wire.MaxRecordLimit/mult) {
		return 0, fmt.Errorf("want a positive size in bytes, or with a unit B, KiB, MiB or GiB")
	}
	return int(n) * mult, nil
}

func parseDuration(v string, zeroOK bool) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("want a Go duration such as 5ms")
	}
	if d < 0 || (d == 0 && !zeroOK) {
		return 0, fmt.Errorf("want a positive duration")
	}
	return d, nil
}

// NewCore returns a zapcore.Core that encodes entries as JSON with zap's
// production encoder configuration and writes them to a new Sink, which it
// also returns so that it can be closed.
func NewCore(addr string, enab zapcore.LevelEnabler, opts ...Option) (zapcore.Core, *Sink, error) {
	s, err := New(addr, opts...)
	if err != nil {
		return nil, nil, err
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zapcore.NewCore(enc, s, enab), s, nil
}

// NewLogger returns a production-style zap.Logger (info level, JSON)
// writing to a new Sink. logger.Sync() flushes the Sink. The Sink lives as
// long as the process; use NewCore to be able to close it.
func NewLogger(addr string, opts ...Option) (*zap.Logger, error) {
	core, s, err := NewCore(addr, zapcore.InfoLevel, opts...)
	if err != nil {
		return nil, err
	}
	return zap.New(core, zap.ErrorOutput(s.cfg.errOut)), nil
}
