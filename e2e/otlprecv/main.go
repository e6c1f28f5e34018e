// Command otlprecv runs the OpenTelemetry Collector's own OTLP receiver
// (otlpreceiver, gRPC and HTTP) for logfanin's end-to-end tests, with a
// consumer that prints every log record it accepts as one JSON line on
// standard output before the receiver answers the export. A record printed
// is a record the receiver acknowledged, or is about to.
//
//	otlprecv -grpc 127.0.0.1:4317 -http 127.0.0.1:4318 [-cert C -key K [-client-ca CA]] [-mode accept|refuse|reject]
//
// -mode refuse answers every export with a retryable Unavailable (HTTP
// 503), -mode exhausted with ResourceExhausted (HTTP 429), -mode reject with a permanent error (gRPC Internal, HTTP 500);
// SIGUSR1 switches to accept; SIGUSR2 prints {"event":"mark"}, after
// every record accepted before it. Each refused or rejected export prints
// {"event":"refused"} or {"event":"rejected"} with its record count. The
// line "ready" is printed once both protocols listen. With -count it
// prints {"event":"batch","n":N} per accepted export instead of the
// records, for throughput runs.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/logfanin/logfanin/e2e/otlprecv/record"
)

// Record is one received log record as printed.
type Record = record.Record

const (
	modeAccept int32 = iota
	modeRefuse
	modeReject
	modeExhausted
)

func main() {
	grpcAddr := flag.String("grpc", "", "gRPC address (empty: off)")
	httpAddr := flag.String("http", "", "HTTP address (empty: off)")
	cert := flag.String("cert", "", "TLS certificate file (both protocols)")
	key := flag.String("key", "", "TLS key file")
	clientCA := flag.String("client-ca", "", "with -cert: PEM roots that a client's certificate must chain to (mutual TLS; a client without one is refused)")
	modeName := flag.String("mode", "accept", "accept, refuse (retryable), exhausted (retryable, gRPC ResourceExhausted, HTTP 429) or reject (permanent)")
	countOnly := flag.Bool("count", false, "print {\"event\":\"batch\",\"n\":N} per accepted export instead of its records")
	flag.Parse()

	var mode atomic.Int32
	switch *modeName {
	case "accept":
	case "refuse":
		mode.Store(modeRefuse)
	case "reject":
		mode.Store(modeReject)
	case "exhausted":
		mode.Store(modeExhausted)
	default:
		fmt.Fprintf(os.Stderr, "otlprecv: unknown mode %q\n", *modeName)
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT)

	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	print := func(r Record) {
		b, _ := json.Marshal(r)
		mu.Lock()
		out.Write(b)
		out.WriteByte('\n')
		out.Flush()
		mu.Unlock()
	}

	next, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		switch mode.Load() {
		case modeRefuse:
			print(Record{Event: "refused", N: ld.LogRecordCount()})
			return status.Error(codes.Unavailable, "otlprecv: refusing for now")
		case modeExhausted:
			print(Record{Event: "refused", N: ld.LogRecordCount()})
			return status.Error(codes.ResourceExhausted, "otlprecv: queue full")
		case modeReject:
			print(Record{Event: "rejected", N: ld.LogRecordCount()})
			return consumererror.NewPermanent(errors.New("otlprecv: rejecting"))
		}
		if *countOnly {
			print(Record{Event: "batch", N: ld.LogRecordCount()})
			return nil
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			res := rl.Resource().Attributes().AsRaw()
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				sl := rl.ScopeLogs().At(j)
				for k := 0; k < sl.LogRecords().Len(); k++ {
					lr := sl.LogRecords().At(k)
					print(Record{
						Time:     int64(lr.Timestamp()),
						Observed: int64(lr.ObservedTimestamp()),
						Sev:      lr.SeverityText(),
						SevNum:   int32(lr.SeverityNumber()),
						Body:     bodyOf(lr.Body()),
						Attrs:    lr.Attributes().AsRaw(),
						Resource: res,
						Scope:    sl.Scope().Name(),
					})
				}
			}
		}
		return nil
	})
	if err != nil {
		fatal(err)
	}

	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	var tlsCfg configoptional.Optional[configtls.ServerConfig]
	if *cert != "" {
		t := configtls.NewDefaultServerConfig()
		t.CertFile, t.KeyFile = *cert, *key
		t.ClientCAFile = *clientCA
		tlsCfg = configoptional.Some(t)
	}
	if *grpcAddr != "" {
		g := cfg.Protocols.GRPC.GetOrInsertDefault()
		g.NetAddr.Endpoint = *grpcAddr
		g.TLS = tlsCfg
		cfg.Protocols.GRPC = configoptional.Some(*g)
	} else {
		cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	}
	if *httpAddr != "" {
		h := cfg.Protocols.HTTP.GetOrInsertDefault()
		h.ServerConfig.NetAddr.Endpoint = *httpAddr
		h.ServerConfig.TLS = tlsCfg
		cfg.Protocols.HTTP = configoptional.Some(*h)
	} else {
		cfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()
	}
	ctx := context.Background()
	r, err := f.CreateLogs(ctx, receivertest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		fatal(err)
	}
	if err := r.Start(ctx, componenttest.NewNopHost()); err != nil {
		fatal(err)
	}
	print(Record{Event: "ready"})
	for sig := range sigs {
		switch sig {
		case syscall.SIGUSR1:
			mode.Store(modeAccept)
			print(Record{Event: "accepting"})
			continue
		case syscall.SIGUSR2:
			// Everything printed before this line was accepted before
			// the signal came.
			print(Record{Event: "mark"})
			continue
		}
		break
	}
	if err := r.Shutdown(ctx); err != nil {
		fatal(err)
	}
}

// bodyOf returns a record's body as a Go value: a string, a map, ...
func bodyOf(v pcommon.Value) any {
	return v.AsRaw()
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "otlprecv: %v\n", err)
	os.Exit(1)
}
