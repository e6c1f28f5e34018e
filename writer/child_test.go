package writer

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/wire"
)

// sender describes what one producer sends.
type sender struct {
	Producer int
	N        int // records
	Max      int // largest record
}

func (sd sender) records(yield func(rec []byte) error) error {
	rng := mrand.New(mrand.NewPCG(uint64(sd.Producer), 7))
	var buf []byte
	for seq, size := range logcheck.Sizes(uint64(sd.Producer)+1, sd.N, sd.Max) {
		buf = logcheck.Make(buf[:0], sd.Producer, seq, size, rng)
		if err := yield(buf); err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
	}
	return nil
}

// sendStream sends sd's records as frames over a new connection to path,
// in ack mode if ack is set, and closes it; in ack mode it waits for the
// ack of the last record.
func sendStream(path string, sd sender, ack bool) error {
	c, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, 64<<10)
	if ack {
		var h wire.Hello
		h.Version, h.Flags = wire.ProtocolVersion, wire.HelloAck
		rand.Read(h.Session[:])
		w.Write(wire.AppendHello(nil, h))
	}
	var frame []byte
	err = sd.records(func(rec []byte) error {
		frame = wire.AppendFrame(frame[:0], rec)
		_, err := w.Write(frame)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return err
	}
	if !ack {
		return nil
	}
	c.(*net.UnixConn).CloseWrite()
	fr := wire.NewFrameReader(c, 0)
	var last uint64
	got := false
	for {
		f, err := fr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) && got && last == uint64(sd.N-1) {
				return nil
			}
			return fmt.Errorf("acks: last %d of %d (got any: %v): %v", last, sd.N-1, got, err)
		}
		v, err := wire.ParseControl(f.Payload)
		if err != nil {
			return err
		}
		a, ok := v.(wire.Ack)
		if !ok {
			return fmt.Errorf("unexpected control frame %v", v)
		}
		if got && a.Seq < last {
			return fmt.Errorf("ack went back from %d to %d", last, a.Seq)
		}
		last, got = a.Seq, true
	}
}

// sendGram sends sd's records as datagrams to path.
func sendGram(path string, sd sender) error {
	c, err := net.Dial("unixgram", path)
	if err != nil {
		return err
	}
	defer c.Close()
	return sd.records(func(rec []byte) error {
		_, err := c.Write(rec)
		return err
	})
}

// sendPipe writes sd's records as chunks to w, one write(2) per chunk.
func sendPipe(w *os.File, sd sender) error {
	scratch := make([]byte, wire.PipeBuf)
	pid := uint32(os.Getpid())
	id := uint32(0)
	return sd.records(func(rec []byte) error {
		id++
		return wire.WriteChunks(scratch, wire.PipeBuf, pid, id, rec, func(chunk []byte) error {
			n, err := w.Write(chunk)
			if err == nil && n != len(chunk) {
				err = io.ErrShortWrite
			}
			return err
		})
	})
}

// runChild is the body of a child process.
func runChild(mode string) int {
	atoi := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	sd := sender{Producer: atoi("CHILD_PRODUCER"), N: atoi("CHILD_N"), Max: atoi("CHILD_MAX")}
	addr := os.Getenv("CHILD_ADDR")
	if uid := os.Getenv("CHILD_SETUID"); uid != "" {
		// Become another user before connecting (the test runs as root),
		// so that the writer sees that uid in SO_PEERCRED.
		n, _ := strconv.Atoi(uid)
		if err := syscall.Setgid(n); err != nil {
			fmt.Fprintln(os.Stderr, "child: setgid:", err)
			return 1
		}
		if err := syscall.Setuid(n); err != nil {
			fmt.Fprintln(os.Stderr, "child: setuid:", err)
			return 1
		}
	}
	var err error
	switch mode {
	case "stream":
		err = sendStream(addr, sd, false)
	case "ack":
		err = sendStream(addr, sd, true)
	case "gram":
		err = sendGram(addr, sd)
	case "pipe":
		err = sendPipe(os.NewFile(3, "pipe"), sd)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "child %s producer %d: %v\n", mode, sd.Producer, err)
		return 1
	}
	return 0
}

// startChild starts the test binary as a sender.
func startChild(t *testing.T, mode, addr string, sd sender, extra ...*os.File) *exec.Cmd {
	t.Helper()
	cmd := newChildCmd(mode, addr, sd)
	cmd.ExtraFiles = extra
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// newChildCmd is the command startChild starts.
func newChildCmd(mode, addr string, sd sender) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"="+mode,
		"CHILD_ADDR="+addr,
		"CHILD_PRODUCER="+strconv.Itoa(sd.Producer),
		"CHILD_N="+strconv.Itoa(sd.N),
		"CHILD_MAX="+strconv.Itoa(sd.Max),
	)
	cmd.Stderr = os.Stderr
	return cmd
}
