package sink_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/sink"
)

// fakeWriter is a minimal logfanin writer for the examples: it keeps the
// records it receives and acknowledges them.
type fakeWriter struct {
	dir  string
	ln   net.Listener
	mu   sync.Mutex
	recs []string
	wg   sync.WaitGroup
}

func startFakeWriter() *fakeWriter {
	dir, err := os.MkdirTemp("", "logfanin-example")
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "app.sock"))
	if err != nil {
		panic(err)
	}
	w := &fakeWriter{dir: dir, ln: ln}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.wg.Add(1)
			go w.serve(c)
		}
	}()
	return w
}

func (w *fakeWriter) path() string { return filepath.Join(w.dir, "app.sock") }

func (w *fakeWriter) serve(c net.Conn) {
	defer w.wg.Done()
	defer c.Close()
	fr := wire.NewFrameReader(c, 0)
	var seq uint64
	for {
		f, err := fr.Next()
		if err != nil {
			return
		}
		if f.Control {
			if h, ok := must(wire.ParseControl(f.Payload)).(wire.Hello); ok {
				seq = h.FirstSeq
			}
			continue
		}
		w.mu.Lock()
		w.recs = append(w.recs, string(f.Payload))
		w.mu.Unlock()
		if fr.Buffered() == 0 {
			c.Write(wire.AppendAck(nil, wire.Ack{Seq: seq}))
		}
		seq++
	}
}

func must(v any, err error) any {
	if err != nil {
		panic(err)
	}
	return v
}

// print shows the message and level of every record received, then stops
// the writer.
func (w *fakeWriter) stop() {
	w.ln.Close()
	w.wg.Wait()
	os.RemoveAll(w.dir)
	for _, r := range w.recs {
		var m map[string]any
		if err := json.Unmarshal([]byte(r), &m); err != nil {
			panic(err)
		}
		fmt.Println(m["level"], m["msg"])
	}
}

func ExampleNewCore() {
	writer := startFakeWriter()
	defer writer.stop()

	core, s, err := sink.NewCore("unix://"+writer.path(), zapcore.InfoLevel)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	logger := zap.New(core)
	logger.Info("started", zap.Int("workers", 8))
	logger.Debug("not enabled")
	logger.Warn("disk almost full")
	if err := logger.Sync(); err != nil { // waits for the writer's acknowledgement
		panic(err)
	}
	// Output:
	// info started
	// warn disk almost full
}

// The standard library's JSON handler makes one Write per record, which is
// what a Sink wants.
func Example_slog() {
	writer := startFakeWriter()
	defer writer.stop()

	s, err := sink.New("unix://" + writer.path())
	if err != nil {
		panic(err)
	}
	defer s.Close()
	logger := slog.New(slog.NewJSONHandler(s, nil))
	logger.Info("request", "path", "/", "status", 200)
	if err := s.Sync(); err != nil {
		panic(err)
	}
	// Output:
	// INFO request
}

// zap.Open understands the logfanin scheme once the package is imported.
func Example_zapOpen() {
	writer := startFakeWriter()
	defer writer.stop()

	ws, closeSink, err := zap.Open("logfanin://" + writer.path() + "?batch=5ms")
	if err != nil {
		panic(err)
	}
	defer closeSink()
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	logger := zap.New(zapcore.NewCore(enc, ws, zapcore.InfoLevel))
	logger.Info("via zap.Open")
	if err := logger.Sync(); err != nil {
		panic(err)
	}
	// Output:
	// info via zap.Open
}

// With the scheme registered, a zap.Config names the writer in
// OutputPaths. A logfanin: URL without a path uses LOGFANIN_ADDR. zap never
// closes the sinks it opens, so call logger.Sync before exiting.
func Example_zapConfig() {
	cfg := zap.NewProductionConfig()
	cfg.OutputPaths = []string{"logfanin:///run/app.sock?policy=drop&buffer=8MiB&batch=5ms"}
	logger, err := cfg.Build()
	if err != nil {
		panic(err)
	}
	defer logger.Sync()
	logger.Info("hello")
}

// NewLogger is the shortest way in; the address here comes from
// LOGFANIN_ADDR, as set by the logfanin sidecar for the processes it runs.
func ExampleNewLogger() {
	logger, err := sink.NewLogger("", sink.WithPolicy(sink.Drop))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer logger.Sync()
	logger.Info("worker started", zap.Int("pid", os.Getpid()))
}

// A Sink can fall back to writing the file itself while the writer is
// down, and keep buffered records within a bound.
func ExampleNew() {
	s, err := sink.New("unix:///run/app.sock",
		sink.WithBufferSize(1<<20),
		sink.WithPolicy(sink.Block),
		sink.WithFallback("/var/log/app.fallback.log"),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer s.Close()
	s.Write([]byte(`{"level":"info","msg":"hello"}` + "\n"))
}
