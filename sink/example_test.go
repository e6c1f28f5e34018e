package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logfanin/logfanin/sink"
	"github.com/logfanin/logfanin/writer"
)

// exampleWriter is a logfanin writer run in-process for the examples: it
// prints the level and message of every record it wrote when stopped.
type exampleWriter struct {
	dir string
	srv *writer.Server
	out bytes.Buffer
}

func startWriter() *exampleWriter {
	dir, err := os.MkdirTemp("", "logfanin-example")
	if err != nil {
		panic(err)
	}
	w := &exampleWriter{dir: dir}
	w.srv = writer.New(writer.NewStreamOutput(&w.out), writer.WithDiagnostics(io.Discard))
	if err := w.srv.Listen("unix://" + w.path()); err != nil {
		panic(err)
	}
	return w
}

func (w *exampleWriter) path() string { return filepath.Join(w.dir, "app.sock") }

func (w *exampleWriter) stop() {
	if err := w.srv.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	os.RemoveAll(w.dir)
	dec := json.NewDecoder(&w.out)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			panic(err)
		}
		fmt.Println(m["level"], m["msg"])
	}
}

func ExampleNewCore() {
	writer := startWriter()
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
	writer := startWriter()
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
	writer := startWriter()
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
