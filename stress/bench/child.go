package bench

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/sink"
)

// envChild carries a child's job, as JSON, to a re-executed benchmark
// binary.
const envChild = "LOGFANIN_BENCH_CHILD"

// envCPUProfile, when set to a directory, makes every producer process
// write its CPU profile there as cpu-CONTENDER-PID.pprof.
const envCPUProfile = "LOGFANIN_BENCH_CPUPROFILE"

// job is what one child process does.
type job struct {
	Contender string // contender name (see contenders)
	Producers []int  // producer ids; more than one only for in-process contenders
	Records   int    // records per producer
	Size      int    // target encoded record size in bytes
	Path      string // output file (in-process contenders)
	Addr      string // writer address (fan-in contenders), or datagram socket path (rsyslog)
	Rate      int    // records per second per producer; 0: as fast as possible
	Stamp     bool   // add the wall-clock nanoseconds of the Write call as field "t"
	Clients   int    // memory job: connections to hold open
	MaxProcs  int    // GOMAXPROCS of the child; 0 leaves the default
}

// childResult is the last line a child prints.
type childResult struct {
	Err   string `json:"err,omitempty"`
	VmHWM int64  `json:"vmhwm"` // peak resident set, bytes
	// SetupCPU is the CPU the child used before the start signal, in ns:
	// the parent counts only what came after it.
	SetupCPU int64 `json:"setup_cpu_ns"`
}

// Child runs the benchmark child process described by the environment and
// exits, if the process is one; otherwise it returns at once. Programs and
// test binaries that run benchmarks must call it first thing: the benchmark
// re-executes its own binary to make producer processes.
func Child() {
	if spec := os.Getenv(envObvious); spec != "" {
		if err := runObvious(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	spec := os.Getenv(envChild)
	if spec == "" {
		return
	}
	var j job
	err := json.Unmarshal([]byte(spec), &j)
	if dir := os.Getenv(envCPUProfile); dir != "" && err == nil {
		f, perr := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%s-%d.pprof", j.Contender, os.Getpid())))
		if perr == nil {
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
	}
	if err == nil {
		if j.MaxProcs > 0 {
			runtime.GOMAXPROCS(j.MaxProcs)
		}
		err = j.run(os.Stdin, os.Stdout)
	}
	pprof.StopCPUProfile()
	res := childResult{VmHWM: vmHWM("self"), SetupCPU: setupCPU.Nanoseconds()}
	if err != nil {
		res.Err = err.Error()
	}
	b, _ := json.Marshal(res)
	os.Stdout.Write(append(b, '\n'))
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// ready tells the parent the child has set up, then waits for the start
// signal: the parent closes the child's standard input.
func ready(in io.Reader, out io.Writer) {
	fmt.Fprintln(out, "ready")
	io.Copy(io.Discard, in)
	setupCPU = selfCPU()
}

// setupCPU is what this process had used when the start signal came.
var setupCPU time.Duration

// selfCPU returns the user and system time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return cpu(&ru)
}

// sizedFields hands out check fields whose zap record has about the target
// size. The body of a record depends only on the number of digits of its
// sequence number, so one body per digit count is drawn and reused: the cost
// of making records stays out of the measurement.
type sizedFields struct {
	producer, size int
	rng            *rand.Rand
	byDigits       map[int]logcheck.Fields
}

func newSizedFields(producer, size int) *sizedFields {
	return &sizedFields{producer: producer, size: size, rng: rand.New(rand.NewPCG(uint64(producer), 7)), byDigits: map[int]logcheck.Fields{}}
}

func (s *sizedFields) get(seq int) logcheck.Fields {
	d := len(strconv.Itoa(seq))
	f, ok := s.byDigits[d]
	if !ok {
		f = logcheck.NewFields(s.producer, seq, s.size, s.rng)
		s.byDigits[d] = f
	}
	f.Seq = seq
	return f
}

// logRecord logs one realistic record: message, level, time, caller, a few
// request fields, the check fields and the body as the padding field.
// stamp, when not zero, is added as field "t".
func logRecord(log *zap.Logger, f logcheck.Fields, stamp int64) {
	if stamp != 0 {
		log.Info("request handled",
			zap.String("method", "GET"), zap.Int("status", 200), zap.Int64("t", stamp),
			zap.Int("p", f.Producer), zap.Int("s", f.Seq), zap.Int("n", f.N), zap.String("c", f.C), zap.String("b", f.B))
		return
	}
	log.Info("request handled",
		zap.String("method", "GET"), zap.Int("status", 200),
		zap.Int("p", f.Producer), zap.Int("s", f.Seq), zap.Int("n", f.N), zap.String("c", f.C), zap.String("b", f.B))
}

func newLogger(ws zapcore.WriteSyncer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, ws, zapcore.InfoLevel), zap.AddCaller())
}

// counter is a WriteSyncer that only measures.
type counter struct{ n int }

func (c *counter) Write(p []byte) (int, error) { c.n = len(p); return len(p), nil }
func (c *counter) Sync() error                 { return nil }

// calibrate returns the Fields size that makes zap records of about size
// bytes (never less than the smallest record logcheck can make).
func calibrate(producer, size int, stamp bool) int {
	var c counter
	log := newLogger(&c)
	var t int64
	if stamp {
		t = time.Now().UnixNano()
	}
	f := logcheck.NewFields(producer, 100000, size, rand.New(rand.NewPCG(1, 1)))
	logRecord(log, f, t)
	return max(size-(c.n-size), logcheck.MinSize)
}

// pacer spaces records to a rate.
type pacer struct {
	start    time.Time
	interval time.Duration
}

func (p *pacer) wait(i int) {
	if p.interval == 0 {
		return
	}
	if d := time.Until(p.start.Add(time.Duration(i) * p.interval)); d > 0 {
		time.Sleep(d)
	}
}

func (j *job) run(in io.Reader, out io.Writer) error {
	if j.Contender == "clients" {
		return j.runClients(in, out)
	}
	c, ok := contenderByName(j.Contender)
	if !ok {
		return fmt.Errorf("unknown contender %q", j.Contender)
	}
	switch c.kind {
	case kindRaw:
		return j.runRaw(in, out)
	case kindFrames:
		return j.runFrames(in, out)
	case kindSinkBytes:
		return j.runSinkBytes(in, out)
	}
	ws, closeWS, err := j.openSyncer(c)
	if err != nil {
		return err
	}
	loggers := make([]*zap.Logger, len(j.Producers))
	fields := make([]*sizedFields, len(j.Producers))
	for i, p := range j.Producers {
		loggers[i] = newLogger(ws)
		fields[i] = newSizedFields(p, calibrate(p, j.Size, j.Stamp))
	}
	ready(in, out)
	var wg sync.WaitGroup
	for i := range j.Producers {
		wg.Go(func() {
			pc := pacer{start: time.Now()}
			if j.Rate > 0 {
				pc.interval = time.Second / time.Duration(j.Rate)
			}
			for s := range j.Records {
				pc.wait(s)
				f := fields[i].get(s)
				var t int64
				if j.Stamp {
					t = time.Now().UnixNano()
				}
				logRecord(loggers[i], f, t)
			}
		})
	}
	wg.Wait()
	if err := ws.Sync(); err != nil {
		closeWS()
		return fmt.Errorf("sync: %w", err)
	}
	return closeWS()
}

// openSyncer opens what the producers of one process log to.
func (j *job) openSyncer(c contender) (zapcore.WriteSyncer, func() error, error) {
	switch c.kind {
	case kindZap, kindNaive:
		f, err := os.OpenFile(j.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, err
		}
		if c.kind == kindNaive {
			return zapcore.AddSync(f), f.Close, nil
		}
		if c.name == "zap-buffered" {
			b := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(f), Size: 256 << 10}
			return b, func() error { err := b.Stop(); f.Close(); return err }, nil
		}
		return zapcore.Lock(f), f.Close, nil
	case kindDirect:
		f, err := atomicwrite.Open(j.Path, c.direct...)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	case kindSidecar:
		s, err := sink.New(j.Addr, c.sink...)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	case kindRsyslog:
		conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: j.Addr, Net: "unixgram"})
		if err != nil {
			return nil, nil, err
		}
		return datagramSyncer{conn}, conn.Close, nil
	}
	return nil, nil, fmt.Errorf("contender %s has no syncer", c.name)
}

// datagramSyncer sends each record, without its newline, as one datagram,
// the way a syslog client does.
type datagramSyncer struct{ c *net.UnixConn }

func (d datagramSyncer) Write(p []byte) (int, error) {
	_, err := d.c.Write([]byte(strings.TrimSuffix(string(p), "\n")))
	return len(p), err
}
func (d datagramSyncer) Sync() error { return nil }

// runRaw writes pre-encoded canonical records with one write(2) each to an
// O_APPEND file: the floor that every contender pays at least.
func (j *job) runRaw(in io.Reader, out io.Writer) error {
	p := j.Producers[0]
	sf := newSizedFields(p, j.Size)
	buf := make([]byte, 0, j.Size+64)
	if j.Contender == "direct-raw" {
		f, err := atomicwrite.Open(j.Path)
		if err != nil {
			return err
		}
		ready(in, out)
		for s := range j.Records {
			buf = appendCanonical(buf[:0], sf.get(s))
			if _, err := f.Write(buf); err != nil {
				f.Close()
				return err
			}
		}
		return f.Close()
	}
	f, err := os.OpenFile(j.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fd := int(f.Fd())
	ready(in, out)
	for s := range j.Records {
		fl := sf.get(s)
		buf = appendCanonical(buf[:0], fl)
		for len(buf) > 0 {
			n, err := unix.Write(fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if n < len(buf) {
				return fmt.Errorf("short write %d of %d", n, len(buf))
			}
			break
		}
	}
	return nil
}

// runFrames sends pre-encoded canonical records to the stream socket at
// j.Addr, each one frame in one write(2), without a hello: the protocol
// as a client in any language speaks it at its simplest.
func (j *job) runFrames(in io.Reader, out io.Writer) error {
	c, err := net.Dial("unix", strings.TrimPrefix(j.Addr, "unix://"))
	if err != nil {
		return err
	}
	defer c.Close()
	sf := newSizedFields(j.Producers[0], j.Size)
	buf := make([]byte, 0, j.Size+64)
	ready(in, out)
	for s := range j.Records {
		buf = appendCanonical(append(buf[:0], 0, 0, 0, 0), sf.get(s))
		binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("record %d: %w", s, err)
		}
	}
	return c.Close()
}

// runSinkBytes hands pre-encoded canonical records to a default sink's
// Write.
func (j *job) runSinkBytes(in io.Reader, out io.Writer) error {
	s, err := sink.New(j.Addr)
	if err != nil {
		return err
	}
	sf := newSizedFields(j.Producers[0], j.Size)
	buf := make([]byte, 0, j.Size+64)
	ready(in, out)
	for seq := range j.Records {
		buf = appendCanonical(buf[:0], sf.get(seq))
		if _, err := s.Write(buf); err != nil {
			s.Close()
			return fmt.Errorf("record %d: %w", seq, err)
		}
	}
	if err := s.Sync(); err != nil {
		s.Close()
		return fmt.Errorf("sync: %w", err)
	}
	return s.Close()
}

// appendCanonical appends the line logcheck.Make writes for f.
func appendCanonical(dst []byte, f logcheck.Fields) []byte {
	dst = append(dst, `{"p":`...)
	dst = strconv.AppendInt(dst, int64(f.Producer), 10)
	dst = append(dst, `,"s":`...)
	dst = strconv.AppendInt(dst, int64(f.Seq), 10)
	dst = append(dst, `,"n":`...)
	dst = strconv.AppendInt(dst, int64(f.N), 10)
	dst = append(dst, `,"c":"`...)
	dst = append(dst, f.C...)
	dst = append(dst, `","b":"`...)
	dst = append(dst, f.B...)
	return append(dst, "\"}\n"...)
}

// runClients holds j.Clients stream connections to the writer at once, each
// sending j.Records records, for the writer memory measurement.
func (j *job) runClients(in io.Reader, out io.Writer) error {
	sinks := make([]*sink.Sink, j.Clients)
	for i := range sinks {
		s, err := sink.New(j.Addr, sink.WithErrorOutput(zapcore.AddSync(io.Discard)))
		if err != nil {
			return err
		}
		sinks[i] = s
	}
	ready(in, out)
	var wg sync.WaitGroup
	errs := make(chan error, len(sinks))
	for i, s := range sinks {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			var buf []byte
			for seq := range j.Records {
				buf = logcheck.Make(buf[:0], i, seq, j.Size, rng)
				if _, err := s.Write(buf); err != nil {
					errs <- err
					return
				}
			}
			if err := s.Sync(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	// Every connection is open and idle now; hold them a moment so the
	// writer's footprint with all of them connected is what rusage sees.
	time.Sleep(300 * time.Millisecond)
	for _, s := range sinks {
		if err := s.Close(); err != nil {
			errs <- err
		}
	}
	close(errs)
	return <-errs
}
