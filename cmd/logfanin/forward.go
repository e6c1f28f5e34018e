package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/logfanin/logfanin/forward"
	"github.com/logfanin/logfanin/writer"
)

// forwardConfig is the command line of -forward.
type forwardConfig struct {
	url        string
	checkpoint string
	headers    map[string]string
	resource   map[string]string
	tls        forward.TLSConfig
	batch      int
	inFlight   int
	maxBackoff time.Duration
	drain      time.Duration
}

// keyValueFlag adds repeatable KEY=VALUE flags to m.
func keyValueFlag(m *map[string]string) func(string) error {
	return func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", s)
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[strings.TrimSpace(k)] = v
		return nil
	}
}

func forwardFlags(fs *flag.FlagSet, c *forwardConfig) {
	fs.StringVar(&c.url, "forward", "", "ship every record written to -out FILE to an OpenTelemetry Collector or any OTLP logs receiver: otlp://HOST:PORT (gRPC), otlps://HOST:PORT (gRPC over TLS), otlp+http://HOST:PORT (HTTP, protobuf), otlp+https://HOST:PORT")
	fs.StringVar(&c.checkpoint, "forward-checkpoint", "", "where -forward stores its position (default: .FILE.forward beside -out FILE)")
	fs.Func("forward-header", "header sent with every export, KEY=VALUE, repeatable, such as an API key (default: from OTEL_EXPORTER_OTLP_LOGS_HEADERS)", keyValueFlag(&c.headers))
	fs.Func("forward-resource", "resource attribute, KEY=VALUE, repeatable (default: from OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; service.name logfanin and host.name otherwise)", keyValueFlag(&c.resource))
	fs.StringVar(&c.tls.CAFile, "forward-ca", "", "PEM file of the roots that verify the receiver (default: OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE, or the system's)")
	fs.StringVar(&c.tls.CertFile, "forward-cert", "", "PEM client certificate for mutual TLS (default: OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE)")
	fs.StringVar(&c.tls.KeyFile, "forward-key", "", "PEM key of -forward-cert (default: OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY)")
	fs.StringVar(&c.tls.ServerName, "forward-server-name", "", "name to check in the receiver's certificate (default: the URL's host)")
	fs.IntVar(&c.batch, "forward-batch", forward.DefaultMaxBatch, "records in one export")
	fs.IntVar(&c.inFlight, "forward-in-flight", forward.DefaultMaxInFlight, "exports waiting for the receiver at once; a crash sends these batches again")
	fs.DurationVar(&c.maxBackoff, "forward-max-backoff", forward.DefaultMaxBackoff, "longest wait between two tries of an export the receiver could not take")
	fs.DurationVar(&c.drain, "forward-drain-timeout", 5*time.Second, "on shutdown, after the writer drained, how long to go on shipping what is left; the rest is shipped at the next start")
}

// checkForward checks the -forward flags against the rest.
func checkForward(c *config) error {
	f := &c.forward
	if f.url == "" {
		return nil
	}
	if c.out == "-" {
		return &usageError{msg: "-forward needs -out FILE: the output file is what it ships"}
	}
	if _, err := forward.ParseEndpoint(f.url); err != nil {
		return &usageError{msg: "-forward: " + err.Error()}
	}
	if f.batch <= 0 {
		return &usageError{msg: "-forward-batch must be positive"}
	}
	if f.inFlight <= 0 {
		return &usageError{msg: "-forward-in-flight must be positive"}
	}
	if f.maxBackoff <= 0 {
		return &usageError{msg: "-forward-max-backoff must be positive"}
	}
	return nil
}

// newForwarder makes the forwarder of -forward, nil without it.
func newForwarder(c *config, stderr io.Writer) (*forward.Forwarder, error) {
	f := &c.forward
	if f.url == "" {
		return nil, nil
	}
	fc := forward.Config{
		URL:         f.url,
		Path:        c.out,
		Checkpoint:  f.checkpoint,
		TLS:         f.tls,
		Headers:     f.headers,
		Resource:    f.resource,
		MaxBatch:    f.batch,
		MaxInFlight: f.inFlight,
		MaxBackoff:  f.maxBackoff,
		Diagnostics: stderr,
	}
	if err := fc.FromEnvironment(os.Getenv); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	return forward.New(fc)
}

// closeForwarder ships what is left within -forward-drain-timeout.
func closeForwarder(c *config, stderr io.Writer) {
	if c.fwd == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.forward.drain)
	defer cancel()
	if err := c.fwd.Close(ctx); err != nil {
		fmt.Fprintf(stderr, "logfanin: forward: %v\n", err)
	}
}

// summary is the line of counters printed at exit and on SIGUSR1.
func summary(c *config, srv *writer.Server) string {
	s := srv.Stats().String()
	if c.fwd != nil {
		s += " " + c.fwd.Stats().String()
	}
	return s
}
