// Command direct is logfanin's direct mode: worker processes log through
// zap into one file that each of them appends to itself, with no writer
// process, and rotate it safely between them (package atomicwrite).
//
//	direct -out app.log -workers 4 -records 2000 -rotate 1048576
//
// The parent starts the workers as separate processes (it re-executes
// itself), waits for them, then reads back app.log and its rotated
// backups and prints a verdict. Record sizes go from a hundred bytes to
// 64 KiB: the small ones are single O_APPEND writes of at most PIPE_BUF
// bytes, the large ones are written under flock.
//
// Every record carries check fields (producer, sequence, checksum), so
// that
//
//	direct -verify app.log -workers 4 -records 2000
//
// can prove each record arrived exactly once, whole and in order.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/logfanin/logfanin/atomicwrite"
	"github.com/logfanin/logfanin/internal/logcheck"
)

func main() {
	out := flag.String("out", "app.log", "the log file every worker appends to")
	workers := flag.Int("workers", 4, "worker processes")
	records := flag.Int("records", 2000, "records per worker")
	maxSize := flag.Int("max-size", 64<<10, "largest record in bytes")
	rotate := flag.Int64("rotate", 1<<20, "rotate the file when it would grow past this many bytes (0: never)")
	worker := flag.Int("worker", -1, "run as worker N (used by the parent itself)")
	verify := flag.String("verify", "", "only verify the log file FILE (and its rotated backups)")
	flag.Parse()

	var err error
	switch {
	case *verify != "":
		err = verifyLog(*verify, *workers, *records)
	case *worker >= 0:
		err = work(*out, *worker, *records, *maxSize, *rotate)
	default:
		err = runWorkers(*out, *workers, *records, *maxSize, *rotate)
		if err == nil {
			err = verifyLog(*out, *workers, *records)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "direct: %v\n", err)
		os.Exit(1)
	}
}

func runWorkers(out string, workers, records, maxSize int, rotate int64) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		cmd := exec.Command(os.Args[0], "-out", out, "-worker", strconv.Itoa(i), "-records", strconv.Itoa(records),
			"-max-size", strconv.Itoa(maxSize), "-rotate", strconv.FormatInt(rotate, 10))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start worker %d: %w", i, err)
		}
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				errs <- fmt.Errorf("worker %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}

// work logs records through zap into the shared file. Every worker opens
// the same path with the same options; whoever finds the file full
// rotates it, under flock, and the others follow.
func work(out string, id, records, maxSize int, rotate int64) error {
	f, err := atomicwrite.Open(out, atomicwrite.WithMaxSize(rotate))
	if err != nil {
		return err
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, f, zapcore.InfoLevel))
	rng := rand.New(rand.NewPCG(uint64(id), 1))
	for seq, size := range logcheck.Sizes(uint64(id), records, maxSize) {
		c := logcheck.NewFields(id, seq, size, rng)
		log.Info("request handled",
			zap.Int("p", c.Producer), zap.Int("s", c.Seq), zap.Int("n", c.N),
			zap.String("c", c.C), zap.String("b", c.B))
	}
	if err := log.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func verifyLog(path string, workers, records int) error {
	expect := make(map[int]int, workers)
	for i := range workers {
		expect[i] = records
	}
	files, err := logcheck.LogFiles(path)
	if err != nil {
		return err
	}
	rep, err := logcheck.CheckFiles(expect, files...)
	if err != nil {
		return err
	}
	fmt.Printf("%s (%d files): %v\n", path, len(files), rep)
	if !rep.OK() {
		return fmt.Errorf("verification failed")
	}
	return nil
}
