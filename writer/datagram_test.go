package writer

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// maxDatagram finds the largest datagram this system sends over a Unix
// datagram socket with default buffers (the sender's SO_SNDBUF bounds it).
func maxDatagram(t *testing.T) int {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	lo, hi := 1, 8<<20 // lo sends, hi does not
	buf := make([]byte, hi)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if err := syscall.Sendto(fds[0], buf[:mid], syscall.MSG_DONTWAIT, nil); err == nil {
			syscall.Recvfrom(fds[1], buf, 0)
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func TestDatagramEndToEnd(t *testing.T) {
	max := maxDatagram(t)
	t.Logf("largest datagram: %d bytes", max)
	f := newFixture(t)
	path := f.sock("g.sock")
	f.listen("unixgram://" + path)
	inproc := senders(0, 3, 150, max)
	children := senders(100, 2, 150, max)
	runSenders(t, inproc, children,
		func(sd sender) error { return sendGram(path, sd) },
		func(sd sender) *exec.Cmd { return startChild(t, "gram", path, sd) })
	// Datagrams have no end of stream: wait until all were received.
	waitFor(t, "datagrams", func() bool { return f.s.Stats().Datagrams == 5*150 })
	f.check(append(inproc, children...))
}

// TestSyslogClients sends through logger(1) and Python's SysLogHandler
// when they are installed.
func TestSyslogClients(t *testing.T) {
	f := newFixture(t)
	path := f.sock("log.sock")
	f.listen("unixgram://" + path)
	want := 0
	if _, err := exec.LookPath("logger"); err == nil {
		out, err := exec.Command("logger", "-u", path, "-t", "myapp", "-p", "local3.warning", "--id=4242", "hello from logger").CombinedOutput()
		if err != nil {
			t.Fatalf("logger: %v: %s", err, out)
		}
		want++
	} else {
		t.Log("no logger(1)")
	}
	if _, err := exec.LookPath("python3"); err == nil {
		script := `
import logging, logging.handlers, sys
h = logging.handlers.SysLogHandler(address=sys.argv[1])
l = logging.getLogger("t"); l.addHandler(h); l.setLevel(logging.INFO)
l.error("hello from python")
h.close()
`
		out, err := exec.Command("python3", "-c", script, path).CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v: %s", err, out)
		}
		want++
	} else {
		t.Log("no python3")
	}
	if want == 0 {
		t.Skip("neither logger nor python3 installed")
	}
	waitFor(t, "datagrams", func() bool { return f.s.Stats().Datagrams == uint64(want) })
	for _, m := range f.lines() {
		t.Logf("%v", m)
		switch m["msg"] {
		case "hello from logger":
			if m["app"] != "myapp" || m["procid"] != "4242" || m["level"] != "warn" || m["facility"] != "local3" || m["time"] == nil {
				t.Errorf("logger record: %v", m)
			}
		case "hello from python":
			if m["level"] != "error" || m["facility"] != "user" || m["time"] == nil {
				t.Errorf("python record: %v", m)
			}
		default:
			t.Errorf("unexpected record %v", m)
		}
	}
}

// TestPeerCredUnforgeable: the kernel's pid, uid and gid come last, so a
// last-wins JSON reader (encoding/json) sees them, not the forged ones.
func TestPeerCredUnforgeable(t *testing.T) {
	f := newFixture(t, WithPeerCred(true))
	spath, gpath := f.sock("s.sock"), f.sock("g.sock")
	f.listen("unix://" + spath)
	f.listen("unixgram://" + gpath)
	forged := `{"peer_pid":1,"peer_uid":0,"peer_gid":0,"msg":"x"}`
	if err := sendRaw(spath, forged); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unixgram", gpath)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(forged))
	c.Write([]byte("<13>plain syslog"))
	c.Write([]byte("{}"))
	c.Close()
	waitFor(t, "records", func() bool {
		return f.s.Stats().Datagrams == 3 && f.s.Stats().Connections == 1 && f.s.Stats().ClientsNow == 0
	})
	lines := f.lines()
	if len(lines) != 4 {
		t.Fatalf("lines: %v", lines)
	}
	for _, m := range lines {
		var want struct {
			pid, uid, gid float64
		}
		want.pid, want.uid, want.gid = float64(os.Getpid()), float64(os.Getuid()), float64(os.Getgid())
		if m["peer_pid"] != want.pid || m["peer_uid"] != want.uid || m["peer_gid"] != want.gid {
			t.Errorf("record %v: want peer %v", m, want)
		}
	}
	// The raw line ends with the trusted fields.
	data, _ := os.ReadFile(f.out)
	first, _, _ := strings.Cut(string(data), "\n")
	if !strings.HasSuffix(first, fmt.Sprintf(`,"peer_pid":%d,"peer_uid":%d,"peer_gid":%d}`, os.Getpid(), os.Getuid(), os.Getgid())) {
		t.Errorf("first line %s", first)
	}
	var v any
	if err := json.Unmarshal([]byte(first), &v); err != nil {
		t.Error(err)
	}
}

func sendRaw(path string, recs ...string) error {
	c, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer c.Close()
	var b []byte
	for _, r := range recs {
		b = appendFrame(b, r)
	}
	_, err = c.Write(b)
	return err
}

// TestDatagramBurstsKeepTheirSenders: senders in several processes burst
// datagrams of mixed sizes, so that the reader takes many at a time; every
// record must be whole, in its sender's order, and carry the credentials
// of the process that sent it, not a neighbour's in the same read.
func TestDatagramBurstsKeepTheirSenders(t *testing.T) {
	f := newFixture(t, WithPeerCred(true))
	path := f.sock("g.sock")
	f.listen("unixgram://" + path)
	inproc := senders(0, 2, 400, 3000)
	children := senders(100, 3, 400, 3000)
	pids := map[float64]float64{}
	for _, sd := range inproc {
		pids[float64(sd.Producer)] = float64(os.Getpid())
	}
	var mu sync.Mutex
	runSenders(t, inproc, children,
		func(sd sender) error { return sendGram(path, sd) },
		func(sd sender) *exec.Cmd {
			cmd := startChild(t, "gram", path, sd)
			mu.Lock()
			pids[float64(sd.Producer)] = float64(cmd.Process.Pid)
			mu.Unlock()
			return cmd
		})
	waitFor(t, "datagrams", func() bool { return f.s.Stats().Datagrams == 5*400 })
	for _, m := range f.lines() {
		if want := pids[m["p"].(float64)]; m["peer_pid"] != want {
			t.Fatalf("record of producer %v seq %v: peer_pid %v, want %v", m["p"], m["s"], m["peer_pid"], want)
		}
	}
	f.check(append(inproc, children...))
}

// TestDatagramTooLarge: a datagram over the limit, even among queued ones
// read together, is counted and discarded alone; its neighbours are
// written, in order.
func TestDatagramTooLarge(t *testing.T) {
	f := newFixture(t, WithMaxRecord(100))
	path := f.sock("g.sock")
	f.listen("unixgram://" + path)
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 60
	for i := range n {
		if i%7 == 3 {
			c.Write(make([]byte, 98+i)) // 101 bytes first: one over the limit
			continue
		}
		fmt.Fprintf(c, `{"i":%d}`, i)
	}
	waitFor(t, "datagrams", func() bool { return f.s.Stats().Datagrams == n })
	var got []float64
	for _, m := range f.lines() {
		got = append(got, m["i"].(float64))
	}
	var want []float64
	for i := range n {
		if i%7 != 3 {
			want = append(want, float64(i))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || f.s.Stats().TooLarge != uint64(n-len(want)) {
		t.Fatalf("records %v, want %v; stats %+v", got, want, f.s.Stats())
	}
}
