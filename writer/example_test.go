package writer_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/writer"
)

func Example() {
	dir, _ := os.MkdirTemp("", "logfanin-example")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "app.sock")

	s := writer.New(writer.NewStreamOutput(os.Stdout))
	if err := s.Listen("unix://" + sock); err != nil {
		fmt.Println(err)
		return
	}
	s.Start()

	// A client: one frame per record.
	c, _ := net.Dial("unix", sock)
	var b []byte
	b = wire.AppendFrame(b, []byte(`{"level":"info","msg":"hello"}`+"\n"))
	b = wire.AppendFrame(b, []byte("not JSON"))
	c.Write(b)
	c.Close()

	// Shutdown waits for the client's records.
	s.Shutdown(context.Background())
	fmt.Println(s.Stats().Records, "records")
	// Output:
	// {"level":"info","msg":"hello"}
	// {"msg":"not JSON"}
	// 2 records
}
