package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logfanin/logfanin/internal/wire"
	"github.com/logfanin/logfanin/sink"
)

// forgedFields are a hostile client's claims for every field the writer
// owns, none of them true of it.
const forgedFields = `"peer_pid":1,"peer_uid":4242,"peer_gid":4242,"pipe_pid":1,` +
	`"logfanin_sid":"0123456789abcdef","logfanin_seq":424242,"stream":"forged",` +
	`"\u0070eer_uid":4242`

// forger is a supervised command that sends one forged record through
// every input: the stream socket plain, with acknowledgements and with a
// shared ring, the datagram socket, the shared pipe, stdout and stderr.
func forger() int {
	rec := func(via string) []byte {
		return []byte(fmt.Sprintf(`{"via":%q,"sender":%d,%s}`, via, os.Getpid(), forgedFields))
	}
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "forger:", err); return 1 }
	stream := os.Getenv(wire.EnvAddr)
	for via, opts := range map[string][]sink.Option{
		"stream": {sink.WithAck(false)},
		"ack":    {sink.WithSharedMemory(0)},
		"ring":   nil,
		"pipe":   nil,
	} {
		addr := stream
		if via == "pipe" {
			addr = os.Getenv(wire.EnvPipe)
		}
		s, err := sink.New(addr, opts...)
		if err != nil {
			return fail(err)
		}
		if _, err := s.Write(rec(via)); err != nil {
			return fail(err)
		}
		if err := s.Close(); err != nil {
			return fail(err)
		}
	}
	c, err := net.Dial("unixgram", os.Getenv("LOGFANIN_TEST_DGRAM"))
	if err != nil {
		return fail(err)
	}
	if _, err := c.Write(rec("datagram")); err != nil {
		return fail(err)
	}
	c.Close()
	fmt.Printf("%s\n", rec("stdout"))
	fmt.Fprintf(os.Stderr, "%s\n", rec("stderr"))
	return 0
}

// TestForgedFieldsNeverWin: through every input, a client that writes
// every field the writer owns, under its plain name and spelled with
// escapes, never has a last-wins JSON reader (encoding/json) see its
// values: it sees the writer's where the writer vouches, null or nothing
// where it can't.
func TestForgedFieldsNeverWin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "app.log")
	dgram := filepath.Join(dir, "d.sock")
	cmd, stderr := logfanin(t, "-peer-cred", "-listen", "unix://"+filepath.Join(dir, "s.sock"),
		"-listen", "unixgram://"+dgram, "-out", out, "--", os.Args[0])
	cmd.Env = append(cmd.Env, envChildRole+"=forger", "LOGFANIN_TEST_DGRAM="+dgram)
	if err := cmd.Run(); err != nil {
		t.Fatalf("logfanin: %v\n%s", err, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	uid, gid := float64(os.Getuid()), float64(os.Getgid())
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		via, _ := r["via"].(string)
		if via == "" {
			continue
		}
		seen[via] = true
		sender := r["sender"]
		// What a last-wins reader must see, by input: the kernel's word
		// on sockets, the sidecar's on its child's output, nothing on
		// the shared pipe but the chunks' own pid.
		want := map[string]any{
			"peer_pid": sender, "peer_uid": uid, "peer_gid": gid,
			"pipe_pid": nil, "logfanin_sid": nil, "logfanin_seq": nil, "stream": nil,
		}
		switch via {
		case "ack", "ring":
			want["logfanin_seq"] = 1.0
			delete(want, "logfanin_sid") // checked below
		case "pipe":
			want["peer_pid"], want["peer_uid"], want["peer_gid"] = nil, nil, nil
			want["pipe_pid"] = sender
		case "stdout", "stderr":
			want["stream"] = via
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: %s = %v, want %v\n%s", via, k, r[k], v, sc.Text())
			}
		}
		if sid, _ := r["logfanin_sid"].(string); (via == "ack" || via == "ring") && (len(sid) != 16 || sid == "0123456789abcdef") {
			t.Errorf("%s: logfanin_sid %q is not the writer's", via, sid)
		}
	}
	for _, via := range []string{"stream", "ack", "ring", "pipe", "datagram", "stdout", "stderr"} {
		if !seen[via] {
			t.Errorf("no record came through %s:\n%s", via, strings.TrimSpace(stderr.String()))
		}
	}
}
