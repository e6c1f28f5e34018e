package forward

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Why the collector's pdata client and not the OTel Go SDK's exporters:
// an export here must end in one of four outcomes the forwarder acts on
// differently: accepted (advance the checkpoint), retryable (keep the
// batch, back off, try again forever), permanent (count, skip) and
// partial success (count the rejected records, advance). The SDK's
// otlploggrpc and otlploghttp exporters retry inside Export for a
// bounded time and then return one error, and hand a partial success to
// the global error handler instead of the caller, so the forwarder could
// tell neither a retryable failure from a permanent one nor see how many
// records a partial success rejected. plogotlp's GRPCClient returns the
// gRPC status and the ExportResponse with its PartialSuccess as they came,
// and the same pdata ExportRequest and ExportResponse marshal to and from
// the protobuf bodies of OTLP/HTTP, so both transports share one
// classification and no hand-written protobuf.

// Scheme names of the forwarding URL.
const (
	SchemeGRPC      = "otlp"       // OTLP/gRPC, plaintext
	SchemeGRPCS     = "otlps"      // OTLP/gRPC over TLS
	SchemeHTTP      = "otlp+http"  // OTLP/HTTP, protobuf, plaintext
	SchemeHTTPS     = "otlp+https" // OTLP/HTTP, protobuf, over TLS
	defaultGRPCPort = "4317"
	defaultHTTPPort = "4318"
	defaultLogsPath = "/v1/logs"
)

// Endpoint is a parsed forwarding URL.
type Endpoint struct {
	Scheme string // one of the Scheme constants
	Host   string // HOST:PORT
	Path   string // OTLP/HTTP only: the URL path, /v1/logs unless given
}

// TLS reports whether the endpoint is reached over TLS.
func (e Endpoint) TLS() bool { return e.Scheme == SchemeGRPCS || e.Scheme == SchemeHTTPS }

// HTTP reports whether the endpoint speaks OTLP/HTTP rather than gRPC.
func (e Endpoint) HTTP() bool { return e.Scheme == SchemeHTTP || e.Scheme == SchemeHTTPS }

// String returns the endpoint as a URL.
func (e Endpoint) String() string {
	s := e.Scheme + "://" + e.Host
	if e.HTTP() && e.Path != defaultLogsPath {
		s += e.Path
	}
	return s
}

// ParseEndpoint parses a forwarding URL: otlp://HOST:PORT,
// otlps://HOST:PORT, otlp+http://HOST:PORT[/PATH] or
// otlp+https://HOST:PORT[/PATH]. The port defaults to 4317 for gRPC and
// 4318 for HTTP, the path to /v1/logs. The error says which part is
// wrong.
func ParseEndpoint(s string) (Endpoint, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("forward URL %q: %w", s, err)
	}
	e := Endpoint{Scheme: u.Scheme}
	port := defaultGRPCPort
	switch u.Scheme {
	case SchemeGRPC, SchemeGRPCS:
		if u.Path != "" && u.Path != "/" {
			return Endpoint{}, fmt.Errorf("forward URL %q: OTLP/gRPC takes no path (got %q)", s, u.Path)
		}
	case SchemeHTTP, SchemeHTTPS:
		port = defaultHTTPPort
		e.Path = defaultLogsPath
		if u.Path != "" && u.Path != "/" {
			e.Path = u.Path
		}
	default:
		return Endpoint{}, fmt.Errorf("forward URL %q: scheme must be otlp, otlps, otlp+http or otlp+https, got %q", s, u.Scheme)
	}
	if u.User != nil {
		return Endpoint{}, fmt.Errorf("forward URL %q: no user info allowed (give credentials as headers)", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("forward URL %q: no query or fragment allowed", s)
	}
	if u.Opaque != "" || u.Host == "" {
		return Endpoint{}, fmt.Errorf("forward URL %q: want %s://HOST:PORT", s, u.Scheme)
	}
	host, p := u.Hostname(), u.Port()
	if host == "" {
		return Endpoint{}, fmt.Errorf("forward URL %q: empty host", s)
	}
	if p == "" {
		p = port
	}
	if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
		return Endpoint{}, fmt.Errorf("forward URL %q: bad port %q", s, p)
	}
	e.Host = net.JoinHostPort(host, p)
	return e, nil
}

// outcome is what the forwarder does after an export.
type outcome int

const (
	accepted  outcome = iota // advance; rejected records (partial success) are counted
	retryable                // keep the batch, back off, send it again
	permanent                // count the batch as rejected, advance
)

// result is an export's outcome, with the records a partial success or a
// permanent failure rejected and a message for the diagnostics.
type result struct {
	outcome  outcome
	rejected int64
	msg      string
}

// client sends one export request.
type client interface {
	export(ctx context.Context, req plogotlp.ExportRequest) result
	close() error
}

// TLSConfig is the TLS material for otlps:// and otlp+https://. Empty
// fields mean the system's roots and no client certificate.
type TLSConfig struct {
	CAFile   string // PEM roots to verify the receiver with
	CertFile string // PEM client certificate, for mutual TLS
	KeyFile  string // its PEM key
	// ServerName overrides the name checked in the receiver's certificate
	// (default: the URL's host).
	ServerName string
}

func (t TLSConfig) build(host string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if c.ServerName == "" {
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		c.ServerName = h
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: CA file %s: no PEM certificate in it", t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("tls: a client certificate needs both a certificate and a key file")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// newClient makes the client of e; inFlight is how many exports it may
// be asked for at once (OTLP/HTTP keeps that many connections; gRPC
// multiplexes them on one).
func newClient(e Endpoint, t TLSConfig, headers map[string]string, timeout time.Duration, inFlight int) (client, error) {
	var tc *tls.Config
	if e.TLS() {
		var err error
		if tc, err = t.build(e.Host); err != nil {
			return nil, err
		}
	}
	if e.HTTP() {
		scheme := "http"
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if tc != nil {
			scheme = "https"
			tr.TLSClientConfig = tc
		}
		tr.MaxIdleConnsPerHost = max(inFlight, 1)
		return &httpClient{
			url:     scheme + "://" + e.Host + e.Path,
			hc:      &http.Client{Transport: tr, Timeout: timeout},
			headers: headers,
		}, nil
	}
	creds := insecure.NewCredentials()
	if tc != nil {
		creds = credentials.NewTLS(tc)
	}
	cc, err := grpc.NewClient("passthrough:///"+e.Host, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("forward to %s: %w", e, err)
	}
	var md metadata.MD
	if len(headers) > 0 {
		md = metadata.New(headers)
	}
	return &grpcClient{cc: cc, c: plogotlp.NewGRPCClient(cc), md: md, timeout: timeout}, nil
}

type grpcClient struct {
	cc      *grpc.ClientConn
	c       plogotlp.GRPCClient
	md      metadata.MD
	timeout time.Duration
}

func (g *grpcClient) export(ctx context.Context, req plogotlp.ExportRequest) result {
	if g.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, g.md)
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	resp, err := g.c.Export(ctx, req)
	if err != nil {
		return grpcResult(err)
	}
	return partial(resp)
}

func (g *grpcClient) close() error { return g.cc.Close() }

// grpcResult classifies a failed gRPC export by the OTLP specification's
// list of retryable codes, with ResourceExhausted retried too (a receiver
// whose queue is full says so).
func grpcResult(err error) result {
	st := grpcstatus.Convert(err)
	r := result{outcome: permanent, msg: fmt.Sprintf("%s: %s", st.Code(), st.Message())}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange,
		codes.Unavailable, codes.DataLoss, codes.ResourceExhausted:
		r.outcome = retryable
	}
	return r
}

// partial reads an accepted export's response: a partial success names
// the records the receiver rejected.
func partial(resp plogotlp.ExportResponse) result {
	ps := resp.PartialSuccess()
	r := result{outcome: accepted, rejected: ps.RejectedLogRecords()}
	if r.rejected > 0 || ps.ErrorMessage() != "" {
		r.msg = fmt.Sprintf("partial success: %d rejected: %s", r.rejected, ps.ErrorMessage())
	}
	return r
}

type httpClient struct {
	url     string
	hc      *http.Client
	headers map[string]string
}

// maxResponse caps what is read of a response body.
const maxResponse = 1 << 20

func (h *httpClient) export(ctx context.Context, req plogotlp.ExportRequest) result {
	body, err := req.MarshalProto()
	if err != nil {
		return result{outcome: permanent, msg: fmt.Sprintf("marshal: %v", err)}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return result{outcome: permanent, msg: fmt.Sprintf("request: %v", err)}
	}
	hr.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range h.headers {
		hr.Header.Set(k, v)
	}
	resp, err := h.hc.Do(hr)
	if err != nil {
		// Connection refused, reset, timeout: the receiver is away.
		return result{outcome: retryable, msg: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return result{outcome: retryable, msg: fmt.Sprintf("read response: %v", err)}
	}
	if resp.StatusCode == http.StatusOK {
		er := plogotlp.NewExportResponse()
		if len(data) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "protobuf") {
			if err := er.UnmarshalProto(data); err != nil {
				return result{outcome: accepted, msg: fmt.Sprintf("unreadable response: %v", err)}
			}
		}
		return partial(er)
	}
	r := result{outcome: permanent, msg: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, httpMessage(data))}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		r.outcome = retryable
	}
	return r
}

// httpMessage returns the message of the google.rpc.Status an OTLP/HTTP
// error response carries, or the start of the body.
func httpMessage(data []byte) string {
	var st status.Status
	if proto.Unmarshal(data, &st) == nil && st.GetMessage() != "" {
		return st.GetMessage()
	}
	if len(data) > 200 {
		data = data[:200]
	}
	return strings.TrimSpace(string(data))
}

func (h *httpClient) close() error {
	h.hc.CloseIdleConnections()
	return nil
}
