package sink

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logfanin/logfanin/internal/sinkurl"
	"github.com/logfanin/logfanin/internal/wire"
)

// Scheme is the zap sink scheme this package registers when imported:
//
//	import _ "github.com/logfanin/logfanin/sink"
//
//	cfg := zap.NewProductionConfig()
//	cfg.OutputPaths = []string{"logfanin:///run/app.sock?policy=drop"}
//
// See ParseURL for the URL format.
const Scheme = "logfanin"

func init() {
	// The name is this project's own, so it is free unless another copy
	// of this package (another major version, a vendored copy) took it
	// first; that one serves the same URLs. A library never panics at
	// import time over it.
	_ = zap.RegisterSink(Scheme, func(u *url.URL) (zap.Sink, error) {
		addr, opts, err := ParseURL(u)
		if err != nil {
			return nil, err
		}
		return New(addr, opts...)
	})
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
	su, err := sinkurl.Parse(u, Scheme, "logfanin", true)
	if err != nil {
		return "", nil, err
	}
	transport := wire.Stream
	minB, maxB := DefaultMinBackoff, DefaultMaxBackoff
	backoff := false
	err = su.Options(func(key, v string) error {
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
			opt = WithMaxRecord(n)
		case "ack":
			var b bool
			b, err = strconv.ParseBool(v)
			opt = WithAck(b)
		case "batch":
			var d time.Duration
			d, err = sinkurl.Duration(v, false)
			opt = WithBatch(d)
		case "fallback":
			if !strings.HasPrefix(v, "/") {
				err = fmt.Errorf("not an absolute path")
			}
			opt = WithFallback(v)
		case "min_backoff":
			minB, err = positiveDuration(v)
			backoff = true
		case "max_backoff":
			maxB, err = positiveDuration(v)
			backoff = true
		case "dial_timeout":
			var d time.Duration
			d, err = positiveDuration(v)
			opt = WithDialTimeout(d)
		case "close_timeout":
			var d time.Duration
			d, err = sinkurl.Duration(v, false)
			opt = WithCloseTimeout(d)
		default:
			return sinkurl.ErrUnknown
		}
		if opt != nil {
			opts = append(opts, opt)
		}
		return err
	})
	if err != nil {
		return "", nil, err
	}
	if backoff {
		if maxB < minB {
			return "", nil, su.Errorf("max_backoff %v below min_backoff %v", maxB, minB)
		}
		opts = append(opts, WithBackoff(minB, maxB))
	}
	if su.Path() == "" {
		if su.Has("transport") {
			return "", nil, su.Errorf("option transport needs a socket path")
		}
		return "", opts, nil
	}
	return transport + "://" + su.Path(), opts, nil
}

// parseSize reads a positive byte count up to wire.MaxRecordLimit.
func parseSize(v string) (int, error) {
	n, err := sinkurl.Size(v, 1)
	if err == nil && (n == 0 || n > wire.MaxRecordLimit) {
		err = fmt.Errorf("want a size from 1 byte to %d bytes", wire.MaxRecordLimit)
	}
	return int(n), err
}

func positiveDuration(v string) (time.Duration, error) {
	d, err := sinkurl.Duration(v, false)
	if err == nil && d == 0 {
		err = fmt.Errorf("want a positive duration")
	}
	return d, err
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
	return zap.New(core, zap.ErrorOutput(zapcore.AddSync(s.cfg.errOut))), nil
}
