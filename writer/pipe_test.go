package writer

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/wire"
)

// TestPipeEndToEnd: goroutines and child processes share one pipe; the
// Server holds the write end the way a supervisor does and closes it at
// Shutdown, after which the pipe drains to its end.
func TestPipeEndToEnd(t *testing.T) {
	f := newFixture(t, WithPeerCred(true))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.AddPipeEnds(r, w); err != nil {
		t.Fatal(err)
	}
	inproc := senders(0, 3, 150, wire.DefaultMaxRecord)
	children := senders(100, 3, 150, wire.DefaultMaxRecord)
	// In-process senders share the pid, so each needs its own reassembly
	// slot: use the producer id as the chunk pid.
	runSenders(t, inproc, children,
		func(sd sender) error { return sendPipeAs(w, sd, uint32(1<<30+sd.Producer)) },
		func(sd sender) *exec.Cmd { return startChild(t, "pipe", "", sd, w) })
	// Shutdown closes w, the last write end, and reads the pipe to its end.
	f.check(append(inproc, children...))
	st := f.s.Stats()
	if st.PipeRecords != 6*150 || st.Partial != 0 || st.GarbageBytes != 0 {
		t.Errorf("stats %v", st)
	}
	for _, m := range jsonLines(t, f.out) {
		if _, ok := m["pipe_pid"].(float64); !ok {
			t.Fatalf("no pipe_pid in %v", m["p"])
		}
	}
}

func sendPipeAs(w *os.File, sd sender, pid uint32) error {
	scratch := make([]byte, wire.PipeBuf)
	id := uint32(0)
	return sd.records(func(rec []byte) error {
		id++
		return wire.WriteChunks(scratch, wire.PipeBuf, pid, id, rec, func(chunk []byte) error {
			_, err := w.Write(chunk)
			return err
		})
	})
}

// TestPipeBadInput: garbage and a sender dying half way are counted and
// reported, never written; whole records around them are.
func TestPipeBadInput(t *testing.T) {
	f := newFixture(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.AddPipe(r); err != nil {
		t.Fatal(err)
	}
	rng := newRand(3)
	rec0 := logcheck.Make(nil, 1, 0, 300, rng)
	rec1 := logcheck.Make(nil, 1, 1, 3*wire.PipeBuf, rng)
	half := logcheck.Make(nil, 2, 0, 3*wire.PipeBuf, rng)
	scratch := make([]byte, wire.PipeBuf)
	write := func(c []byte) error { _, err := w.Write(c); return err }
	wire.WriteChunks(scratch, wire.PipeBuf, 1, 1, rec0, write)
	w.Write([]byte("garbage between chunks\n"))
	n := 0
	wire.WriteChunks(scratch, wire.PipeBuf, 2, 1, half, func(c []byte) error {
		if n++; n == 1 {
			return write(c) // only the first chunk: the sender "dies"
		}
		return nil
	})
	wire.WriteChunks(scratch, wire.PipeBuf, 1, 2, rec1, write)
	w.Close()
	f.check([]sender{{Producer: 1, N: 2}})
	st := f.s.Stats()
	if st.GarbageBytes != uint64(len("garbage between chunks\n")) || st.Partial != 1 {
		t.Errorf("stats %v", st)
	}
	if d := f.diag.String(); !containsAll(d, "garbage", "pid 2") {
		t.Errorf("diagnostics: %q", d)
	}
}

// TestPipeShutdownDeadline: a sender keeps its write end open; when
// Shutdown's context expires, what is in the pipe is still read and
// written, and the unfinished record is counted.
func TestPipeShutdownDeadline(t *testing.T) {
	f := newFixture(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := f.s.AddPipe(r); err != nil {
		t.Fatal(err)
	}
	sd := sender{Producer: 5, N: 50, Max: 3000}
	if err := sendPipeAs(w, sd, 77); err != nil {
		t.Fatal(err)
	}
	// Half a record that will never finish.
	scratch := make([]byte, wire.PipeBuf)
	n := 0
	wire.WriteChunks(scratch, wire.PipeBuf, 78, 1, logcheck.Make(nil, 9, 0, 10000, newRand(1)), func(c []byte) error {
		if n++; n == 1 {
			_, err := w.Write(c)
			return err
		}
		return nil
	})
	ctx, cancel := contextExpired()
	defer cancel()
	f.done = true
	if err := f.s.Shutdown(ctx); err == nil {
		t.Error("Shutdown with an expired context returned nil")
	}
	checkFiles(t, []sender{sd}, f.out)
	if st := f.s.Stats(); st.Partial != 1 {
		t.Errorf("stats %v", st)
	}
}

// TestListenFD: "fd:N" reads an inherited pipe.
func TestListenFD(t *testing.T) {
	f := newFixture(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscallDup(int(r.Fd()))
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	f.listen("fd:" + strconv.Itoa(fd))
	sd := sender{Producer: 1, N: 20, Max: 10000}
	if err := sendPipeAs(w, sd, 1); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f.check([]sender{sd})
}
