package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/logfanin/logfanin/forward"
	"github.com/logfanin/logfanin/internal/unixsock"
	"github.com/logfanin/logfanin/writer"
)

// statsCollector exposes a Server's Stats, read at each scrape, under
// the names of writer.Stats.Fields.
type statsCollector struct {
	srv *writer.Server
	fwd *forward.Forwarder // nil without -forward
}

var _ prometheus.Collector = statsCollector{}

func statDesc(f writer.StatField) *prometheus.Desc {
	return prometheus.NewDesc("logfanin_"+f.Metric, f.Help, nil, nil)
}

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range (writer.Stats{}).Fields() {
		ch <- statDesc(f)
	}
	if c.fwd != nil {
		for _, f := range (forward.Stats{}).Fields() {
			ch <- statDesc(f)
		}
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	fields := c.srv.Stats().Fields()
	if c.fwd != nil {
		fields = append(fields, c.fwd.Stats().Fields()...)
	}
	for _, f := range fields {
		typ := prometheus.CounterValue
		if f.Gauge {
			typ = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(statDesc(f), typ, float64(f.Value))
	}
}

// metricsAddr splits -metrics into a network and an address.
func metricsAddr(s string) (network, addr string, err error) {
	if p, ok := strings.CutPrefix(s, "unix://"); ok {
		if p == "" {
			return "", "", errors.New("empty socket path")
		}
		return "unix", p, nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", "", fmt.Errorf("want HOST:PORT or unix:///PATH: %v", err)
	}
	return "tcp", s, nil
}

// serveMetrics serves /metrics until the returned stop is called.
func serveMetrics(cfg *config, srv *writer.Server, stderr io.Writer) (stop func(), err error) {
	network, addr, err := metricsAddr(cfg.metrics)
	if err != nil {
		return nil, err
	}
	var l net.Listener
	if network == "unix" {
		// The same care as for the log sockets: mode, group, stale file.
		l, err = unixsock.Listen(addr, cfg.socketMode, cfg.socketGroup)
	} else {
		l, err = net.Listen(network, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(statsCollector{srv: srv, fwd: cfg.fwd})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(l)
	}()
	where := "http://" + l.Addr().String() + "/metrics"
	if network == "unix" {
		where = "unix://" + addr + " /metrics"
	}
	fmt.Fprintf(stderr, "logfanin: metrics on %s\n", where)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		<-done
	}, nil
}
