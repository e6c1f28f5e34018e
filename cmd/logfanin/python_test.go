package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The Python example, examples/python/pool.py, under the real sidecar: a
// multiprocessing.Pool whose workers log with the standard library only.
// Over the stream socket (with its records also sent through
// logging.handlers.SysLogHandler to a datagram socket of the writer) and
// over the inherited pipe, every task's record is in the output once,
// every line is valid JSON, the syslog copies are parsed (level, msg),
// and the script's stdout line is a record.
func TestPythonPool(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Python example is not tested")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "python", "pool.py"))
	if err != nil {
		t.Fatal(err)
	}
	const tasks = 40
	for _, tt := range []struct {
		name   string
		pipe   bool
		syslog bool
	}{
		{"stream and syslog", false, true},
		{"pipe", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "app.log")
			dgram := filepath.Join(dir, "d.sock")
			command := []string{python, script, fmt.Sprint(tasks)}
			if tt.pipe {
				// The sidecar hands its stream socket in LOGFANIN_ADDR;
				// point the script at the shared pipe instead.
				command = append([]string{"/usr/bin/env", "LOGFANIN_ADDR=fd:3"}, command...)
			}
			args := append([]string{"-listen", "unix://" + filepath.Join(dir, "s.sock"), "-listen", "unixgram://" + dgram, "-out", out, "--"}, command...)
			cmd, stderr := logfanin(t, args...)
			if tt.syslog {
				cmd.Env = append(cmd.Env, "LOGFANIN_SYSLOG="+dgram)
			}
			if err := cmd.Run(); err != nil {
				t.Fatalf("logfanin -- pool.py: %v\n%s", err, stderr)
			}
			checkPythonOutput(t, out, tasks, tt.syslog)
		})
	}
}

func checkPythonOutput(t *testing.T, out string, tasks int, syslog bool) {
	t.Helper()
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	taskRecs := map[int]int{}
	syslogRecs := map[string]int{}
	finished, stdout := 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not valid JSON (%v): %.200q", n, err, sc.Bytes())
		}
		msg, _ := m["msg"].(string)
		switch {
		case m["stream"] == "stdout":
			if msg == fmt.Sprintf("pool finished %d tasks", tasks) {
				stdout++
			}
		case m["logger"] == "pool" && m["task"] != nil:
			task := int(m["task"].(float64))
			if msg != fmt.Sprintf("task %d done", task) || m["level"] != "info" {
				t.Errorf("task record %v", m)
			}
			taskRecs[task]++
		case m["logger"] == "pool" && msg == "pool finished":
			finished++
		case m["logger"] == nil && m["level"] != nil:
			syslogRecs[msg]++
		default:
			t.Errorf("unexpected record %.200v", m)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range tasks {
		if taskRecs[i] != 1 {
			t.Errorf("task %d: %d records, want 1", i, taskRecs[i])
		}
		if want := map[bool]int{true: 1}[syslog]; syslogRecs[fmt.Sprintf("task %d done", i)] != want {
			t.Errorf("task %d: %d syslog records, want %d", i, syslogRecs[fmt.Sprintf("task %d done", i)], want)
		}
	}
	if len(taskRecs) != tasks || finished != 1 || stdout != 1 {
		t.Errorf("%d distinct tasks, %d finish records, %d stdout lines", len(taskRecs), finished, stdout)
	}
}
