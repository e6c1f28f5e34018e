package atomicwrite_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logfanin/logfanin/atomicwrite"
)

func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")

	// Every process of the application opens the same path.
	f, err := atomicwrite.Open(path, atomicwrite.WithMaxSize(100<<20), atomicwrite.WithMaxBackups(5))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg"})
	logger := zap.New(zapcore.NewCore(enc, f, zap.InfoLevel))
	logger.Info("started", zap.Int("worker", 3))
	logger.Sync()

	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	// Output: {"msg":"started","worker":3}
}

func Example_zapSink() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")

	cfg := zap.NewProductionConfig()
	cfg.EncoderConfig.TimeKey = "" // deterministic output
	cfg.EncoderConfig.CallerKey = ""
	cfg.OutputPaths = []string{"logfanin+append://" + path + "?max_size=100&max_backups=5&compress=true&lock=shared"}
	logger, err := cfg.Build()
	if err != nil {
		log.Fatal(err)
	}
	logger.Info("hello")
	logger.Sync()

	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	// Output: {"level":"info","msg":"hello"}
}

func ExampleWithLocking() {
	// On NFS, where O_APPEND is not atomic, lock around every record.
	f, err := atomicwrite.Open(filepath.Join(os.TempDir(), "nfs-example.log"),
		atomicwrite.WithLocking(atomicwrite.LockAlways))
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Path())
	defer f.Close()
	fmt.Println(atomicwrite.LockAlways)
	// Output: always
}
