package forward

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"

	"github.com/logfanin/logfanin/internal/syncbuf"
	"github.com/logfanin/logfanin/writer"
)

// partialServer is an OTLP/gRPC logs service, served by pdata's own
// server code, that accepts all but the first record of every export and
// says so in a partial success. Every record it sees goes to seen, the
// rejected ones prefixed with "-".
type partialServer struct {
	plogotlp.UnimplementedGRPCServer
	seen chan string
}

func (s *partialServer) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	recs := req.Logs().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < recs.Len(); i++ {
		b := recs.At(i).Body().Str()
		if i == 0 {
			b = "-" + b
		}
		s.seen <- b
	}
	resp := plogotlp.NewExportResponse()
	resp.PartialSuccess().SetRejectedLogRecords(1)
	resp.PartialSuccess().SetErrorMessage("the first is refused")
	return resp, nil
}

// A partial success advances past the batch and counts the records it
// rejected; the forwarder follows a rotation of the FileOutput it
// watches.
func TestPartialSuccessAndRotation(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	ps := &partialServer{seen: make(chan string, 100)}
	plogotlp.RegisterGRPCServer(gs, ps)
	go gs.Serve(l)
	defer gs.Stop()

	path := filepath.Join(t.TempDir(), "app.log")
	var diag syncbuf.Buffer
	fwd, err := New(Config{URL: "otlp://" + l.Addr().String(), Path: path, MaxBatch: 10, Diagnostics: &diag})
	if err != nil {
		t.Fatal(err)
	}
	// Lines of 41 000 bytes: 25 fit in the 1 MiB file, the 26th rotates it.
	out, err := writer.NewFileOutput(writer.FileConfig{Path: path, MaxSizeMB: 1, Watcher: fwd})
	if err != nil {
		t.Fatal(err)
	}
	fwd.Start()
	line := func(i int) string {
		l := fmt.Sprintf(`{"msg":"r%d","pad":"`, i)
		return l + strings.Repeat("p", 41000-len(l)-3) + "\"}\n"
	}
	var lines strings.Builder
	for i := range 25 {
		lines.WriteString(line(i))
	}
	if _, err := out.Write([]byte(lines.String())); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Write([]byte(line(25) + line(26))); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	// Every record is seen once, accepted or rejected; batches in flight
	// together may arrive in any order.
	rejected := 0
	seen := map[string]bool{}
	for range 27 {
		b := <-ps.seen
		if r, ok := strings.CutPrefix(b, "-"); ok {
			b = r
			rejected++
		}
		if seen[b] {
			t.Fatalf("record %s seen twice", b)
		}
		seen[b] = true
	}
	for i := range 27 {
		if want := fmt.Sprintf("r%d", i); !seen[want] {
			t.Fatalf("record %s not seen", want)
		}
	}
	// The two files make two batches at least, and batches are at most 10.
	if rejected < 4 || rejected > 27 {
		t.Fatalf("%d batches", rejected)
	}
	if err := fwd.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := fwd.Stats()
	if s.Forwarded != uint64(27-rejected) || s.Rejected != uint64(rejected) || s.Batches != uint64(rejected) || s.LagBytes != 0 || s.Retries != 0 {
		t.Fatalf("stats %v\n%s", s, diag.String())
	}
	if list, err := filepath.Glob(filepath.Join(filepath.Dir(path), "app-*.log")); err != nil || len(list) != 1 {
		t.Fatalf("backups %v %v", list, err)
	}
	if !strings.Contains(diag.String(), "partial success: 1 rejected: the first is refused") {
		t.Fatalf("diagnostics:\n%s", diag.String())
	}
	// The rotation was followed because the FileOutput announced it, not
	// found out afterwards as a file moved away.
	if strings.Contains(diag.String(), "moved away") {
		t.Fatalf("rotation not announced:\n%s", diag.String())
	}
	// The checkpoint holds the new live file, shipped to its end.
	st, err := loadState(DefaultCheckpoint(path), path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if dev, ino := identity(fi); len(st.Files) != 1 || st.Files[0].Dev != dev || st.Files[0].Ino != ino || st.Files[0].rotated() || st.Offset != fi.Size() {
		t.Fatalf("checkpoint %+v, want the live file at offset %d", st, fi.Size())
	}
}
