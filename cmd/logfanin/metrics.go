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

	"github.com/logfanin/logfanin/writer"
)

// metric is one counter or gauge taken from writer.Stats at scrape time.
type metric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(writer.Stats) float64
}

func counter(name, help string, v func(writer.Stats) uint64) metric {
	return metric{prometheus.NewDesc("logfanin_"+name, help, nil, nil), prometheus.CounterValue,
		func(s writer.Stats) float64 { return float64(v(s)) }}
}

func gauge(name, help string, v func(writer.Stats) int64) metric {
	return metric{prometheus.NewDesc("logfanin_"+name, help, nil, nil), prometheus.GaugeValue,
		func(s writer.Stats) float64 { return float64(v(s)) }}
}

var metrics = []metric{
	counter("records_total", "Records written to the output.", func(s writer.Stats) uint64 { return s.Records }),
	counter("bytes_total", "Bytes written to the output.", func(s writer.Stats) uint64 { return s.Bytes }),
	counter("writes_total", "Successful writes of a batch to the output.", func(s writer.Stats) uint64 { return s.Writes }),
	gauge("clients", "Stream connections open now.", func(s writer.Stats) int64 { return s.ClientsNow }),
	counter("connections_total", "Stream connections accepted.", func(s writer.Stats) uint64 { return s.Connections }),
	counter("datagrams_total", "Datagrams received.", func(s writer.Stats) uint64 { return s.Datagrams }),
	counter("pipe_records_total", "Records reassembled from pipes.", func(s writer.Stats) uint64 { return s.PipeRecords }),
	counter("lines_total", "Lines read from captured output.", func(s writer.Stats) uint64 { return s.Lines }),
	counter("protocol_errors_total", "Connections closed for bad framing or control frames.", func(s writer.Stats) uint64 { return s.ProtocolErrors }),
	counter("too_large_total", "Records over the size limit, discarded.", func(s writer.Stats) uint64 { return s.TooLarge }),
	counter("partial_records_total", "Half records discarded: truncated frames, unfinished pipe records.", func(s writer.Stats) uint64 { return s.Partial }),
	counter("garbage_bytes_total", "Pipe bytes skipped while resynchronising.", func(s writer.Stats) uint64 { return s.GarbageBytes }),
	counter("idle_closed_total", "Connections closed for stalling inside a frame.", func(s writer.Stats) uint64 { return s.IdleClosed }),
	counter("refused_total", "Connections and datagrams refused by the uid allowlist.", func(s writer.Stats) uint64 { return s.Refused }),
	gauge("frame_buffer_bytes", "Bytes of large-frame buffers held now.", func(s writer.Stats) int64 { return s.FrameBuffers }),
	counter("wrapped_total", "Records that were not a JSON object, wrapped as {\"msg\":…}.", func(s writer.Stats) uint64 { return s.Wrapped }),
	counter("compacted_total", "Multi-line JSON objects compacted onto one line.", func(s writer.Stats) uint64 { return s.Compacted }),
	counter("acks_total", "Ack frames sent.", func(s writer.Stats) uint64 { return s.Acks }),
	counter("duplicates_total", "Replayed records skipped as already written.", func(s writer.Stats) uint64 { return s.Duplicates }),
	counter("write_errors_total", "Failed writes to the output, each retried.", func(s writer.Stats) uint64 { return s.WriteErrors }),
	counter("reopens_total", "Reopens of the output.", func(s writer.Stats) uint64 { return s.Reopens }),
	counter("rotations_total", "Rotations of the output file.", func(s writer.Stats) uint64 { return s.Rotations }),
	counter("lost_total", "Records dropped because the output kept failing at shutdown.", func(s writer.Stats) uint64 { return s.Lost }),
}

// statsCollector exposes a Server's Stats, read at each scrape.
type statsCollector struct{ srv *writer.Server }

var _ prometheus.Collector = statsCollector{}

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metrics {
		ch <- m.desc
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	for _, m := range metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value(st))
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
		l, err = writer.ListenUnix(addr, cfg.socketMode, cfg.socketGroup)
	} else {
		l, err = net.Listen(network, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(statsCollector{srv})
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
