package wire_test

import (
	"bytes"
	"fmt"

	"github.com/logfanin/logfanin/internal/wire"
)

// A stream carries each record behind its length; the reader hands them
// back one by one.
func ExampleFrameReader() {
	var stream []byte
	stream = wire.AppendFrame(stream, []byte(`{"msg":"one"}`))
	stream = wire.AppendFrame(stream, []byte(`{"msg":"two"}`))
	fmt.Printf("% x\n", stream[:4])

	fr := wire.NewFrameReader(bytes.NewReader(stream), 0)
	for {
		f, err := fr.Next()
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(string(f.Payload))
	}
	// Output:
	// 00 00 00 0d
	// {"msg":"one"}
	// {"msg":"two"}
	// EOF
}

// Two senders share a pipe: each record is cut into chunks of at most
// PipeBuf bytes, one write(2) each, and the reader puts every record back
// together whatever the interleaving.
func ExampleChunkReader() {
	var pipe bytes.Buffer
	var a, b [][]byte
	collect := func(dst *[][]byte) func([]byte) error {
		return func(c []byte) error { *dst = append(*dst, bytes.Clone(c)); return nil }
	}
	wire.WriteChunks(nil, wire.PipeBuf, 100, 1, bytes.Repeat([]byte("a"), 5000), collect(&a))
	wire.WriteChunks(nil, wire.PipeBuf, 200, 7, []byte("short record from 200"), collect(&b))
	pipe.Write(a[0]) // the kernel interleaves whole chunks only
	pipe.Write(b[0])
	pipe.Write(a[1])

	cr := wire.NewChunkReader(&pipe, wire.ChunkConfig{})
	for {
		r, err := cr.Next()
		if err != nil {
			break
		}
		fmt.Printf("pid %d: %d bytes\n", r.PID, len(r.Data))
	}
	fmt.Printf("%d chunks for pid 100\n", len(a))
	// Output:
	// pid 200: 21 bytes
	// pid 100: 5000 bytes
	// 2 chunks for pid 100
}
