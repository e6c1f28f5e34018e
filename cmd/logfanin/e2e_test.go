package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/logfanin/logfanin/internal/logcheck"
)

// listenFixture is logfanin in listen mode on a stream socket, a datagram
// socket and an inherited pipe, writing app.log in a temporary directory.
type listenFixture struct {
	dir, out      string
	stream, dgram string
	pw            *os.File // the pipe's write end, for producers on fd:3
	cmd           *exec.Cmd
	stderr        interface{ String() string }
}

func startListen(t *testing.T, flags ...string) *listenFixture {
	t.Helper()
	dir := t.TempDir()
	f := &listenFixture{
		dir:    dir,
		out:    filepath.Join(dir, "app.log"),
		stream: "unix://" + filepath.Join(dir, "s.sock"),
		dgram:  "unixgram://" + filepath.Join(dir, "d.sock"),
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f.pw = pw
	args := append([]string{"-listen", f.stream, "-listen", f.dgram, "-listen", "fd:3", "-out", f.out}, flags...)
	cmd, stderr := logfanin(t, args...)
	cmd.ExtraFiles = []*os.File{pr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	f.cmd, f.stderr = cmd, stderr
	t.Cleanup(func() {
		f.pw.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	waitFor(t, "sockets", func() bool {
		return exists(filepath.Join(dir, "s.sock"))() && exists(filepath.Join(dir, "d.sock"))()
	})
	return f
}

// pipeOnly closes the test's copy of the pipe's write end once every pipe
// producer has been started, so that logfanin sees the pipe end when they
// exit.
func (f *listenFixture) closePipe() { f.pw.Close() }

// stop sends sig and returns logfanin's exit status.
func (f *listenFixture) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	f.cmd.Process.Signal(sig)
	err := f.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// sinkURL is a logfanin: sink URL for the socket of addr with options.
func sinkURL(addr, query string) string {
	path := addr[strings.Index(addr, "://")+3:]
	return "logfanin://" + path + "?" + query
}

// Listen mode with every kind of sender at once: stream with and without
// acknowledgements, datagram, pipe, records from MinSize to 1 MiB on the
// acknowledged stream (256 KiB without acks and on the pipe, 100 KiB in
// datagrams), -peer-cred on. Every record arrives once, whole
// and in order; the kernel's pid of each sender is stamped on its stream
// and datagram records (peer_pid, peer_uid, peer_gid), the chunk pid on
// pipe records (pipe_pid); only acknowledged sessions carry logfanin_sid
// and logfanin_seq.
func TestListenModeAckNoAckPeerCred(t *testing.T) {
	f := startListen(t, "-peer-cred")
	const records = 30
	type kind struct {
		addr string
		max  int
		ack  bool
		pipe bool
	}
	kinds := []kind{
		{f.stream, 1 << 20, true, false},
		{sinkURL(f.stream, "ack=false"), 256 << 10, false, false},
		{sinkURL(f.dgram, "transport=unixgram"), 100 << 10, false, false},
		{"fd:3", 256 << 10, false, true},
	}
	expect := map[int]int{}
	var procs []*loadProc
	for id, k := range kinds {
		var extra []*os.File
		if k.pipe {
			extra = []*os.File{f.pw}
		}
		procs = append(procs, startLoad(t, id, k.addr, records, k.max, 0, extra...))
		expect[id] = records
	}
	f.closePipe()
	for _, p := range procs {
		if code, rep := p.wait(t); code != 0 || rep.Written != records {
			t.Fatalf("producer %d: exit %d, %+v\n%s", p.id, code, rep, p.stderr)
		}
	}
	if code := f.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("logfanin exit %d\n%s", code, f.stderr)
	}
	verify(t, f.out, expect)

	fh, err := os.Open(f.out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 2<<20)
	seen := map[int]int{}
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			break
		}
		var rec struct {
			P       *int
			PeerPID *int    `json:"peer_pid"`
			PeerUID *int    `json:"peer_uid"`
			PeerGID *int    `json:"peer_gid"`
			PipePID *int    `json:"pipe_pid"`
			SID     *string `json:"logfanin_sid"`
			Seq     *uint64 `json:"logfanin_seq"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("invalid JSON line: %v", err)
		}
		if rec.P == nil {
			continue
		}
		id := *rec.P
		k, pid := kinds[id], procs[id].cmd.Process.Pid
		seen[id]++
		switch {
		case k.pipe:
			if rec.PipePID == nil || *rec.PipePID != pid || rec.PeerPID != nil {
				t.Fatalf("pipe producer %d (pid %d): pipe_pid %v, peer_pid %v", id, pid, deref(rec.PipePID), deref(rec.PeerPID))
			}
		case rec.PeerPID == nil || *rec.PeerPID != pid || rec.PeerUID == nil || *rec.PeerUID != os.Getuid() ||
			rec.PeerGID == nil || *rec.PeerGID != os.Getgid():
			t.Fatalf("producer %d (pid %d, uid %d, gid %d): peer_pid %v peer_uid %v peer_gid %v",
				id, pid, os.Getuid(), os.Getgid(), deref(rec.PeerPID), deref(rec.PeerUID), deref(rec.PeerGID))
		}
		if (rec.SID != nil) != k.ack || (rec.Seq != nil) != k.ack {
			t.Fatalf("producer %d (ack %v): logfanin_sid %v, logfanin_seq %v", id, k.ack, rec.SID != nil, rec.Seq != nil)
		}
	}
	for id := range kinds {
		if seen[id] != records {
			t.Errorf("producer %d: %d records stamped, want %d", id, seen[id], records)
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// SIGHUP under load, logrotate style: while producers keep writing over
// the stream socket and the pipe, app.log is renamed to app.log.N and
// logfanin is sent SIGHUP, three times. Records written between the rename
// and the reopen land in the renamed file; read oldest first, app.log.1,
// app.log.2, app.log.3 and app.log hold every record once, whole and in
// order.
func TestSighupLogrotate(t *testing.T) {
	f := startListen(t)
	var procs []*loadProc
	ids := []int{0, 1, 2}
	procs = append(procs,
		startLoad(t, 0, f.stream, 0, 64<<10, 20),
		startLoad(t, 1, f.stream, 0, 64<<10, 20),
		startLoad(t, 2, "fd:3", 0, 64<<10, 20, f.pw))
	f.closePipe()
	for _, p := range procs {
		p.waitReady(t)
	}
	var files []string
	for n := 1; n <= 3; n++ {
		// The producers are still writing: app.log comes back after each
		// reopen only because records keep arriving.
		waitFor(t, "app.log written", func() bool { st, err := os.Stat(f.out); return err == nil && st.Size() > 0 })
		rotated := f.out + "." + string(rune('0'+n))
		if err := os.Rename(f.out, rotated); err != nil {
			t.Fatal(err)
		}
		files = append(files, rotated)
		f.cmd.Process.Signal(syscall.SIGHUP)
	}
	waitFor(t, "app.log written", func() bool { st, err := os.Stat(f.out); return err == nil && st.Size() > 0 })
	expect := map[int]int{}
	for _, p := range procs {
		p.stop()
	}
	for _, p := range procs {
		code, rep := p.wait(t)
		if code != 0 || rep.Lost != 0 || int(rep.Sent) != rep.Written {
			t.Fatalf("producer %d: exit %d, %+v\n%s", p.id, code, rep, p.stderr)
		}
		expect[p.id] = rep.Written
	}
	if code := f.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("logfanin exit %d\n%s", code, f.stderr)
	}
	files = append(files, f.out)
	rep, err := logcheck.CheckFiles(expect, files...)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verification failed: %v\n%s", rep, strings.Join(rep.Examples, "\n"))
	}
	for _, name := range files {
		if st, err := os.Stat(name); err != nil || st.Size() == 0 {
			t.Errorf("%s: empty or missing (%v)", name, err)
		}
	}
	t.Logf("verified %v over %d files (%d producers)", rep, len(files), len(ids))
}

// SIGTERM while producers on the stream socket and the pipe are half way
// through their records: logfanin stops accepting but drains the
// connections and the pipe, so every producer connected before the signal
// finishes, its Close returns nil, and all its records are in the output;
// logfanin exits 0. A producer started after the signal may or may not
// reach the writer: whatever it got acknowledged is in the output, it
// reports the rest (Close error, Stats().Lost), and what the output holds
// of it is a prefix of its records.
func TestSigtermDrainsUnderLoad(t *testing.T) {
	f := startListen(t)
	const records = 150
	var procs []*loadProc
	for id := range 4 {
		addr := f.stream
		var extra []*os.File
		if id >= 2 {
			addr, extra = "fd:3", []*os.File{f.pw}
		}
		procs = append(procs, startLoad(t, id, addr, records, 64<<10, 50, extra...))
	}
	f.closePipe()
	for _, p := range procs {
		p.waitReady(t)
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	late := startLoad(t, 4, sinkURL(f.stream, "close_timeout=300ms&max_backoff=20ms"), 50, 4096, 0)
	procs = append(procs, late)
	reports := map[int]loadReport{}
	codes := map[int]int{}
	for _, p := range procs {
		codes[p.id], reports[p.id] = p.wait(t)
	}
	if err := f.cmd.Wait(); err != nil {
		t.Fatalf("logfanin: %v\n%s", err, f.stderr)
	}
	found := checkPrefixes(t, []int{0, 1, 2, 3, 4}, f.out)
	for _, p := range procs {
		code, rep, l := codes[p.id], reports[p.id], found[p.id]
		if p != late && (code != 0 || rep.Written != records) {
			t.Errorf("producer %d was writing when SIGTERM came: exit %d, %+v\n%s", p.id, code, rep, p.stderr)
		}
		checkReport(t, p.id, code, rep, l)
	}
	t.Logf("late producer: %+v, %d records in the output", reports[4], found[4])
}

// checkReport checks what a producer said against the l records of it
// found in the output: every record it had acknowledged is there, none
// it did not write; and it owns up to what it could not deliver.
func checkReport(t *testing.T, id, code int, rep loadReport, l int) {
	t.Helper()
	switch {
	case rep.Dropped != 0 || rep.Sent+rep.Lost != uint64(rep.Written):
		t.Errorf("producer %d: sent %d + lost %d != written %d (dropped %d)", id, rep.Sent, rep.Lost, rep.Written, rep.Dropped)
	case (code == 0) != (rep.Lost == 0) || (code == 0) != (rep.Err == ""):
		t.Errorf("producer %d: exit %d with %d lost, Close error %q", id, code, rep.Lost, rep.Err)
	case code == 0 && l != rep.Written:
		t.Errorf("producer %d delivered all %d records, %d in the output", id, rep.Written, l)
	case uint64(l) < rep.Sent || l > rep.Written:
		t.Errorf("producer %d: %d records in the output, %d acknowledged, %d written", id, l, rep.Sent, rep.Written)
	}
}

// SIGTERM with a short -drain-timeout while producers write without end:
// logfanin cuts them off when the timeout expires. Each producer then
// reports its undelivered tail (Close error, Stats().Lost, sent + lost =
// written), and the output holds, for each, a prefix of its records at
// least as long as what it had acknowledged, none torn or duplicated.
func TestSigtermDrainTimeout(t *testing.T) {
	f := startListen(t, "-drain-timeout", "200ms")
	var procs []*loadProc
	for id := range 3 {
		procs = append(procs, startLoad(t, id, sinkURL(f.stream, "close_timeout=200ms&max_backoff=20ms"), 0, 64<<10, 30))
	}
	for _, p := range procs {
		p.waitReady(t)
	}
	code := f.stop(t, syscall.SIGTERM)
	for _, p := range procs {
		p.stop()
	}
	found := checkPrefixes(t, []int{0, 1, 2}, f.out)
	for _, p := range procs {
		c, rep := p.wait(t)
		checkReport(t, p.id, c, rep, found[p.id])
		t.Logf("producer %d: exit %d, %+v, %d in the output", p.id, c, rep, found[p.id])
	}
	if code != 0 {
		t.Errorf("logfanin exits %d when -drain-timeout cuts senders off, want 0\n%s", code, f.stderr)
	}
}
