package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/internal/shmring"
	"github.com/logfanin/logfanin/internal/wire"
)

// startWriter starts the sidecar and waits until it answers on sock.
func startWriter(t *testing.T, sock string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd, stderr := logfanin(t, append([]string{"-listen", "unix://" + sock}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the writer to answer", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cmd, stderr
}

// TestCrashRestartNoLoss: the writer is killed with SIGKILL several times
// while producers (sinks with the default Block policy and acks) log
// through it, and restarted on the same socket path (replacing the stale
// socket) and output file. Every record is in the output; a record the
// writer wrote but could not acknowledge before dying is written again,
// and both copies carry the same (logfanin_sid, logfanin_seq).
func TestCrashRestartNoLoss(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	out := filepath.Join(dir, "app.log")
	const (
		producers = 4
		records   = 10000
		kills     = 3
	)
	w, _ := startWriter(t, sock, "-out", out, "-quiet")
	expect := map[int]int{}
	done := make(chan error, producers)
	for id := range producers {
		p := producer(id, records, 2000, "unix://"+sock)
		var perr bytes.Buffer // the sinks report every reconnection
		p.Stderr = &perr
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		expect[id] = records
		go func() {
			err := p.Wait()
			if err != nil {
				err = fmt.Errorf("%w\n%s", err, &perr)
			}
			done <- err
		}()
	}
	finished := 0
	underLoad := 0
	for range kills {
		time.Sleep(100 * time.Millisecond)
		if finished < producers {
			underLoad++
		}
		w.Process.Signal(syscall.SIGKILL)
		w.Wait()
		if _, err := os.Lstat(sock); err != nil {
			t.Fatalf("SIGKILL should leave the socket file behind: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the producers find nobody
	drain:
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("producer: %v", err)
				}
				finished++
			default:
				break drain
			}
		}
		w, _ = startWriter(t, sock, "-out", out, "-quiet")
	}
	for finished < producers {
		if err := <-done; err != nil {
			t.Fatalf("producer: %v", err)
		}
		finished++
	}
	w.Process.Signal(syscall.SIGTERM)
	if err := w.Wait(); err != nil {
		t.Fatalf("last writer: %v", err)
	}
	t.Logf("%d of %d kills while producers were running", underLoad, kills)
	if underLoad == 0 {
		t.Errorf("no kill happened under load: make the producers send more")
	}
	verify(t, dedupBySession(t, out), expect)
}

// dedupBySession writes a copy of the log at path without the second copy
// of a record replayed after a writer restart. A duplicate (p, s) is
// accepted only if both copies carry the same (logfanin_sid,
// logfanin_seq): that is how a reader recognises a replay.
func dedupBySession(t *testing.T, path string) string {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dedup := path + ".dedup"
	outf, err := os.Create(dedup)
	if err != nil {
		t.Fatal(err)
	}
	defer outf.Close()
	type key struct{ p, s int64 }
	type stamp struct {
		sid string
		seq uint64
	}
	seen := map[key]stamp{}
	dups := 0
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var r struct {
			P   *int64  `json:"p"`
			S   *int64  `json:"s"`
			SID string  `json:"logfanin_sid"`
			Seq *uint64 `json:"logfanin_seq"`
		}
		if json.Unmarshal(line, &r) != nil || r.P == nil || r.S == nil {
			outf.Write(append(line, '\n')) // not ours: logcheck judges
			continue
		}
		if r.SID == "" || r.Seq == nil {
			t.Fatalf("record without a session stamp: %s", line)
		}
		k, st := key{*r.P, *r.S}, stamp{r.SID, *r.Seq}
		if prev, ok := seen[k]; ok {
			if prev != st {
				t.Fatalf("record p=%d s=%d twice with different stamps %v and %v", k.p, k.s, prev, st)
			}
			dups++
			continue
		}
		seen[k] = st
		outf.Write(append(line, '\n'))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d replayed duplicates dropped", dups)
	return dedup
}

// TestKilledMidRecord: a sender killed in the middle of a record, over a
// stream socket, over a shared ring and over the shared pipe, leaves no
// trace of the half record in the output, and the writer counts each.
// What the ring's sender published whole before it is written.
func TestKilledMidRecord(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	out := filepath.Join(dir, "app.log")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd, stderr := logfanin(t, "-listen", "unix://"+sock, "-listen", "fd:3", "-out", out)
	cmd.ExtraFiles = []*os.File{pr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	waitFor(t, "socket", exists(sock))

	for _, transport := range []string{"stream", "ring", "pipe"} {
		child := self()
		child.Env = append(os.Environ(), envHelperRole+"=half-"+transport, "LOGFANIN_TEST_ADDR="+sock)
		if transport == "pipe" {
			child.ExtraFiles = []*os.File{pw}
		}
		ready, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(ready).ReadString('\n')
		if err != nil || line != "sent half\n" {
			t.Fatalf("%s child: %q %v", transport, line, err)
		}
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
	}
	// A whole record after both, over the pipe.
	p := producer(7, 3, 10000, "fd:3")
	p.ExtraFiles = []*os.File{pw}
	if err := p.Run(); err != nil {
		t.Fatal(err)
	}
	pw.Close() // the pipe ends: the dead sender's fragment is discarded
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("logfanin: %v\n%s", err, stderr)
	}
	data, _ := os.ReadFile(out)
	if bytes.Contains(data, []byte("HALF")) {
		t.Errorf("a half record reached the output:\n%s", data)
	}
	verify(t, out, map[int]int{7: 3, 8: 1})
	if !bytes.Contains(stderr.Bytes(), []byte(" partial=3 ")) || !bytes.Contains(stderr.Bytes(), []byte(" shared_rings=1 ")) {
		t.Errorf("want partial=3 and shared_rings=1 in the summary:\n%s", stderr)
	}
}

// envHelperRole selects a helper role of this file's children; see init.
const envHelperRole = "LOGFANIN_TEST_HELPER"

// halfRecord sends the first part of a record and waits to be killed.
func halfRecord(transport string) int {
	big := bytes.Repeat([]byte("HALF"), 5000) // 20000 bytes: several pipe chunks
	switch transport {
	case "stream":
		c, err := net.Dial("unix", os.Getenv("LOGFANIN_TEST_ADDR"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		frame := append([]byte{0, 0, 0x4e, 0x20}, big[:10000]...) // announces 20000
		if _, err := c.Write(frame); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "ring":
		// A whole record, then half of the next, through a shared ring.
		c, err := net.Dial("unix", os.Getenv("LOGFANIN_TEST_ADDR"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ring, memfd, err := shmring.NewProducer(shmring.DefaultSize)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		hello := wire.AppendHello(nil, wire.Hello{Version: wire.ProtocolVersion, Flags: wire.HelloAck | wire.HelloShm, FirstSeq: 1})
		if _, _, err := c.(*net.UnixConn).WriteMsgUnix(hello, shmring.PassFD(memfd), nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		memfd.Close()
		data := wire.AppendFrame(nil, logcheck.Make(nil, 8, 0, 300, rand.New(rand.NewPCG(8, 0))))
		data = append(data, 0, 0, 0x4e, 0x20) // announces 20000
		data = append(data, big[:10000]...)
		ring.Write(data)
		if ring.TakeSleeper() {
			c.Write([]byte{1})
		}
	case "pipe":
		w := os.NewFile(3, "pipe")
		var chunks [][]byte
		writeChunks(uint32(os.Getpid()), big, func(c []byte) { chunks = append(chunks, bytes.Clone(c)) })
		for _, c := range chunks[:2] {
			if _, err := w.Write(c); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	fmt.Println("sent half")
	time.Sleep(time.Minute)
	return 0
}
