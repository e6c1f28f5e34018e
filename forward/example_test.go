package forward_test

import (
	"context"
	"log"

	"github.com/logfanin/logfanin/forward"
	"github.com/logfanin/logfanin/writer"
)

// A writer whose output file is shipped to a Collector: the Forwarder
// watches the FileOutput, and is closed after the writer.
func Example() {
	fwd, err := forward.New(forward.Config{
		URL:  "otlp://collector.internal:4317",
		Path: "/var/log/app/app.log",
	})
	if err != nil {
		log.Fatal(err)
	}
	out, err := writer.NewFileOutput(writer.FileConfig{
		Path:      "/var/log/app/app.log",
		MaxSizeMB: 100,
		Compress:  true,
		Watcher:   fwd,
	})
	if err != nil {
		log.Fatal(err)
	}
	fwd.Start()
	srv := writer.New(out)
	if err := srv.Listen("unix:///run/app.sock"); err != nil {
		log.Fatal(err)
	}
	// ... until SIGTERM:
	srv.Shutdown(context.Background())
	fwd.Close(context.Background())
}
