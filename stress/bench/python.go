package bench

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// The Python contenders: 4 multiprocessing workers (one per producer, fork)
// logging JSON records through the standard logging module, the ways
// Python programs do it today and through the package logfanin (python/).
// Every record is verified with logcheck like the Go contenders'.

// kindPython runs one Python parent process whose multiprocessing workers
// are the producers (pyproducer.py).
const kindPython kind = 100

//go:embed pyproducer.py
var pyProducer []byte

// PythonContenders lists the Python contenders, in table order.
var PythonContenders = []string{"py-filehandler", "py-filehandler-same", "py-cookbook", "py-example", "py-syslog", "py-logfanin"}

func init() {
	contenders = append(contenders,
		contender{name: "py-filehandler", kind: kindPython, desc: "Python: each multiprocessing worker its own logging.FileHandler on the file, with a JSON formatter as programs write one (json.dumps of the standard fields and the extra ones): what people do; not safe above PIPE_BUF"},
		contender{name: "py-filehandler-same", kind: kindPython, desc: "as py-filehandler, formatted by the package's own JSON formatting: FileHandler and the package differ only in how records reach the file"},
		contender{name: "py-cookbook", kind: kindPython, safe: true, desc: "Python: the logging cookbook's QueueHandler in the workers, QueueListener and a FileHandler in the parent (what the Python docs recommend), the py-filehandler row's formatter"},
		contender{name: "py-example", kind: kindPython, listen: "unix", safe: true, desc: "Python: the handler examples/python/pool.py had before the package, into the sidecar's stream socket: a frame per record, one sendall each, no acknowledgements"},
		contender{name: "py-syslog", kind: kindPython, listen: "unixgram", safe: true, desc: "Python: logging.handlers.SysLogHandler with the py-filehandler row's JSON formatter into the sidecar's datagram socket"},
		contender{name: "py-logfanin", kind: kindPython, listen: "unix", safe: true, desc: "Python: the package's logfanin.Handler into the sidecar's stream socket (acknowledgements on, batched by its sender thread)"},
	)
}

var pythonOnce struct {
	sync.Once
	path, pkg, missing string
}

// pythonMissing says why the Python contenders can't run, or "".
func pythonMissing() string {
	pythonOnce.Do(func() {
		p, err := exec.LookPath("python3")
		if err != nil {
			pythonOnce.missing = "python3 not found"
			return
		}
		pythonOnce.path = p
		if pythonOnce.pkg, err = pythonDir(); err != nil {
			pythonOnce.missing = err.Error()
		}
	})
	return pythonOnce.missing
}

// pythonDir returns python/ of the checkout this module is in: the
// directory that holds the Python package logfanin.
func pythonDir() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("python contender: %w", err)
	}
	for d := root; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "python", "logfanin", "__init__.py")); err == nil {
			return filepath.Join(d, "python"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("python contender: no python/logfanin above %s", root)
		}
	}
}

// startProducer starts the producer process of job j of contender c.
func startProducer(cfg *Config, c contender, j job, extra []*os.File) (*child, error) {
	if c.kind == kindPython {
		return startPython(cfg, j)
	}
	return startChild(cfg, j, extra)
}

// startPython starts pyproducer.py for job j, with the package logfanin
// of this module on its path.
func startPython(cfg *Config, j job) (*child, error) {
	if why := pythonMissing(); why != "" {
		return nil, fmt.Errorf("python contender: %s", why)
	}
	script := filepath.Join(cfg.Dir, "pyproducer.py")
	if err := os.WriteFile(script, pyProducer, 0o644); err != nil {
		return nil, fmt.Errorf("python contender: %w", err)
	}
	spec, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("python contender: %w", err)
	}
	cmd := exec.Command(pythonOnce.path, script)
	cmd.Env = append(os.Environ(), envChild+"="+string(spec), "PYTHONPATH="+pythonOnce.pkg, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stderr = os.Stderr
	return startCmd(cmd)
}

// pythonTargets checks the Python client's goals: at least 1.2 times
// every worker's own FileHandler and 4 times the cookbook's
// QueueHandler/QueueListener, at 4 producers and each size measured.
func pythonTargets(results []Result) []Target {
	var ts []Target
	for _, goal := range []struct {
		base string
		want float64
		what string
	}{
		{"py-filehandler", 1.2, "each worker's own FileHandler"},
		{"py-filehandler-same", 1.2, "each worker's own FileHandler with the package's formatting (the transport alone)"},
		{"py-cookbook", 4, "the cookbook's QueueHandler + QueueListener"},
	} {
		t := Target{Goal: fmt.Sprintf("py-logfanin ≥ %g× %s (4 producers)", goal.want, goal.what)}
		var parts []string
		t.Met = true
		for _, r := range results {
			if r.Contender != "py-logfanin" || r.Producers != 4 || r.Err != nil {
				continue
			}
			b, ok := find(results, goal.base, 4, r.Size)
			if !ok || b.RecordsPerSec() <= 0 {
				continue
			}
			x := r.RecordsPerSec() / b.RecordsPerSec()
			if rs := pairedRatios(r, b); len(rs) > 1 {
				x = rs[len(rs)/2]
			}
			t.Known = true
			if x < goal.want {
				t.Met = false
			}
			parts = append(parts, fmt.Sprintf("%s %.2f× (%.0f vs %.0f records/s)", sizeName(r.Size), x, r.RecordsPerSec(), b.RecordsPerSec()))
		}
		if t.Known {
			t.Value = strings.Join(parts, "; ")
		} else {
			t.Met = false
			t.Value = "needs py-logfanin and " + goal.base + " at 4 producers"
		}
		ts = append(ts, t)
	}
	return ts
}
