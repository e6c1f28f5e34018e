// Command workerpool is a pool of worker processes that log through zap
// into one logfanin writer: the demo workload of the README's quick start.
//
// Run it under the sidecar, which hands the workers its address:
//
//	logfanin -out demo.log -- workerpool -workers 4 -records 5000
//
// The parent starts the workers as separate processes (it re-executes
// itself). Even workers log over the writer's stream socket
// (LOGFANIN_ADDR), odd ones over the shared pipe (LOGFANIN_PIPE) when there
// is one. Record sizes vary from a hundred bytes to 64 KiB, so many are
// far above PIPE_BUF.
//
// Every record carries check fields (producer, sequence, checksum), so
// that
//
//	workerpool -verify demo.log -workers 4 -records 5000
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

	"github.com/logfanin/logfanin/internal/logcheck"
	"github.com/logfanin/logfanin/sink"
)

func main() {
	workers := flag.Int("workers", 4, "worker processes")
	records := flag.Int("records", 5000, "records per worker")
	maxSize := flag.Int("max-size", 64<<10, "largest record in bytes")
	worker := flag.Int("worker", -1, "run as worker N (used by the pool itself)")
	verify := flag.String("verify", "", "verify the log file FILE (and its rotated backups) instead of logging")
	flag.Parse()

	var err error
	switch {
	case *verify != "":
		err = verifyLog(*verify, *workers, *records)
	case *worker >= 0:
		err = work(*worker, *records, *maxSize)
	default:
		err = runPool(*workers, *records, *maxSize)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "workerpool: %v\n", err)
		os.Exit(1)
	}
}

func runPool(workers, records, maxSize int) error {
	log, err := sink.NewLogger("")
	if err != nil {
		return err
	}
	defer log.Sync()
	log.Info("pool starting", zap.Int("workers", workers), zap.Int("records", records))
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		cmd := exec.Command(os.Args[0], "-worker", strconv.Itoa(i),
			"-records", strconv.Itoa(records), "-max-size", strconv.Itoa(maxSize))
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
	log.Info("pool finished", zap.Int("workers", workers))
	fmt.Printf("workerpool: %d workers logged %d records each\n", workers, records)
	return nil
}

func work(id, records, maxSize int) error {
	addr := "" // LOGFANIN_ADDR
	if p := os.Getenv(sink.EnvPipe); p != "" && id%2 == 1 {
		addr = p
	}
	log, err := sink.NewLogger(addr)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(id), 1))
	sizes := logcheck.Sizes(uint64(id), records, maxSize)
	for seq, size := range sizes {
		f := logcheck.NewFields(id, seq, size, rng)
		log.Info("request handled",
			zap.Int("p", f.Producer), zap.Int("s", f.Seq), zap.Int("n", f.N),
			zap.String("c", f.C), zap.String("b", f.B))
	}
	fmt.Printf("worker %d: %d records sent\n", id, records)
	return log.Sync()
}

func verifyLog(path string, workers, records int) error {
	expect := make(map[int]int, workers)
	for i := range workers {
		expect[i] = records
	}
	rep, err := logcheck.CheckLog(expect, path)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %v\n", path, rep)
	if !rep.OK() {
		return fmt.Errorf("verification failed")
	}
	return nil
}
