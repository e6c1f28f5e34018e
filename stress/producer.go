package stress

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/sink"
)

// envChild, when set, makes the running binary (the stress command or the
// test binary) a producer instead of a driver. Its value is a JSON spec.
const envChild = "LOGFANIN_STRESS_CHILD"

// readyLine is what a producer about to be killed prints on its standard
// output once it is in the middle of a record.
const readyLine = "ready"

// spec is what one producer process does.
type spec struct {
	Mode     string
	Producer int
	Records  int
	MaxSize  int
	Seed     uint64

	Addr string // fan-in: the writer's address
	Path string // direct and naive: the file
	Ack  bool   // stream: acknowledgements on

	// Kill makes the producer write Records records, then start one
	// more large record, print readyLine and wait to be killed.
	Kill bool
}

// Child runs the producer described by the environment, if any, and then
// exits the process. It returns only when the process is not a producer.
// The stress command calls it first thing in main, the test in TestMain.
func Child() {
	if pool := os.Getenv(envPool); pool != "" {
		if err := runPool(pool); err != nil {
			fmt.Fprintln(os.Stderr, "stress pool:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	s := os.Getenv(envChild)
	if s == "" {
		return
	}
	var sp spec
	if err := json.Unmarshal([]byte(s), &sp); err != nil {
		fmt.Fprintln(os.Stderr, "stress producer:", err)
		os.Exit(2)
	}
	if err := produce(sp); err != nil {
		fmt.Fprintf(os.Stderr, "stress producer %d (%s): %v\n", sp.Producer, sp.Mode, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// sizes returns the record sizes of producer p: logcheck's mix, with one
// record in eight replaced by a wire boundary (see wireEdges).
func sizes(seed uint64, p, n, max int) []int {
	pseed := seed*1_000_003 + uint64(p)
	out := logcheck.Sizes(pseed, n, max)
	edges := wireEdges(max)
	if len(edges) == 0 {
		return out
	}
	rng := rand.New(rand.NewPCG(pseed, 0x5eed))
	for i := range out {
		if rng.IntN(8) == 0 {
			out[i] = edges[rng.IntN(len(edges))]
		}
	}
	return out
}

// wireEdges are the sizes around the boundaries of the fan-in protocols
// that logcheck.Edges does not already cover: multiples of the pipe chunk
// payload (the record fills exactly k chunks, or spills one byte into the
// next), the 64 KiB client batch less the frame header, and the writer's
// 256 KiB output batch.
func wireEdges(max int) []int {
	var e []int
	add := func(v int) {
		for _, d := range []int{-1, 0, 1} {
			if s := v + d; s >= logcheck.MinSize && s <= max {
				e = append(e, s)
			}
		}
	}
	for _, k := range []int{1, 2, 3, 16, max / wire.MaxChunkPayload} {
		add(k * wire.MaxChunkPayload)
	}
	add(64<<10 - wire.FrameHeaderSize)
	add(256 << 10)
	return e
}

// recordRNG is the generator of producer p's record bodies.
func recordRNG(seed uint64, p int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(p)))
}

func produce(sp spec) error {
	w, finish, err := openProducer(sp)
	if err != nil {
		return err
	}
	// The starting gate: the driver closes the other end of standard
	// input once every producer has started.
	io.Copy(io.Discard, os.Stdin)
	rng := recordRNG(sp.Seed, sp.Producer)
	var rec []byte
	for seq, size := range sizes(sp.Seed, sp.Producer, sp.Records, sp.MaxSize) {
		rec = logcheck.Make(rec[:0], sp.Producer, seq, size, rng)
		if _, err := w.Write(rec); err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
	}
	if sp.Kill {
		if s, ok := w.(*sink.Sink); ok {
			// Every record so far is in the pipe, or (with acks) in the
			// writer's output: they are the ones expected.
			if err := s.Sync(); err != nil {
				return err
			}
		}
		return startAndHang(sp, rng)
	}
	return finish()
}

// openProducer opens what a producer of sp's mode writes records to.
func openProducer(sp spec) (io.Writer, func() error, error) {
	m, err := SelectModes(sp.Mode)
	if err != nil {
		return nil, nil, err
	}
	mode := m[0]
	switch mode.server {
	case serverSidecar, serverWriter, serverSupervise:
		if strings.HasPrefix(sp.Addr, "$") {
			sp.Addr = os.Getenv(sp.Addr[1:])
		}
		a, err := wire.ParseAddr(sp.Addr)
		if err != nil {
			return nil, nil, err
		}
		var opts []sink.Option
		if a.Transport == wire.Stream {
			opts = append(opts, sink.WithAck(sp.Ack))
		}
		opts = append(opts, sink.WithCloseTimeout(time.Minute))
		s, err := sink.New(sp.Addr, opts...)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	case serverDirect:
		opts := []atomicwrite.Option{atomicwrite.WithLocking(mode.locking), atomicwrite.WithReopenCheck(50 * time.Millisecond)}
		if mode.rotate {
			opts = append(opts, atomicwrite.WithMaxSize(directRotate), atomicwrite.WithCompress(mode.compress))
		}
		f, err := atomicwrite.Open(sp.Path, opts...)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	case serverNaive:
		return openNaive(mode, sp)
	}
	return nil, nil, fmt.Errorf("mode %s: no producer", mode.Name)
}

// openNaive opens a control's writer: the ways of writing that logfanin
// exists to replace.
func openNaive(mode Mode, sp spec) (io.Writer, func() error, error) {
	var f *os.File
	size := 4096
	switch mode.naive {
	case naiveTrunc:
		var err error
		if f, err = os.OpenFile(sp.Path, os.O_WRONLY|os.O_CREATE, 0o644); err != nil {
			return nil, nil, err
		}
		size = 64 << 10
	case naiveAppend:
		var err error
		if f, err = os.OpenFile(sp.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
			return nil, nil, err
		}
	case naivePipe:
		f = os.NewFile(3, "pipe")
		size = 64 << 10
	default:
		return nil, nil, fmt.Errorf("unknown naive writer %q", mode.naive)
	}
	bw := bufio.NewWriterSize(f, size)
	return bw, func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return f.Close()
	}, nil
}

// killRecordSize is the size of the record a producer is killed in.
const killRecordSize = 512 << 10

// startAndHang sends the first part of one more large record, by hand,
// prints readyLine and waits to be killed: over a pipe every chunk but the
// last, over a stream the frame header and half the payload.
func startAndHang(sp spec, rng *rand.Rand) error {
	rec := logcheck.Make(nil, sp.Producer, sp.Records, killRecordSize, rng)
	a, err := wire.ParseAddr(sp.Addr)
	if err != nil {
		return err
	}
	switch a.Transport {
	case wire.Pipe:
		pipe := os.NewFile(uintptr(a.FD), "pipe")
		chunks, n := wire.ChunkCount(len(rec), wire.PipeBuf), 0
		err = wire.WriteChunks(nil, wire.PipeBuf, uint32(os.Getpid()), 1<<31, rec, func(chunk []byte) error {
			if n++; n == chunks {
				hang()
			}
			_, err := pipe.Write(chunk)
			return err
		})
	case wire.Stream:
		var c net.Conn
		if c, err = net.Dial("unix", a.Path); err != nil {
			return err
		}
		hdr := binary.BigEndian.AppendUint32(nil, uint32(len(rec)))
		if _, err = c.Write(append(hdr, rec[:len(rec)/2]...)); err != nil {
			return err
		}
		hang()
	default:
		return fmt.Errorf("no way to die mid-record over %s", a.Transport)
	}
	return err
}

// hang tells the driver the producer is mid-record and waits for SIGKILL.
func hang() {
	fmt.Println(readyLine)
	for {
		time.Sleep(time.Hour)
	}
}
