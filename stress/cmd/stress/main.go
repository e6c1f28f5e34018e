// Command stress runs the logfanin stress matrix: many producer processes
// writing records of every size through each mode, every record verified.
//
//	go run ./stress/cmd/stress -modes all -procs 8 -records 100000 -max-size 512 -dir /mnt/nfs/tmp
//
// It prints the seed, a progress line while a mode runs, and a summary
// table at the end (-markdown for Markdown). It exits 1 if any safe mode
// lost, duplicated, tore, interleaved or reordered a record, or if a naive
// control was not caught.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/logfanin/logfanin/stress"
)

func main() {
	stress.Child() // a producer process: runs and exits
	os.Exit(run())
}

func run() int {
	var (
		modes    = flag.String("modes", "all", `comma-separated modes: names, "all", "safe", "controls", "bugs", or a prefix ending in "*"`)
		list     = flag.Bool("list", false, "list the modes and exit")
		procs    = flag.Int("procs", 4, "producer processes per mode")
		records  = flag.Int("records", 1000, "records per producer")
		maxSize  = flag.Int("max-size", 1<<20, "largest record in bytes")
		seed     = flag.Uint64("seed", 0, "seed of the record sizes and bodies (0: from the clock)")
		dir      = flag.String("dir", "", "directory for the output files, e.g. on the file system under test (default: a temporary directory)")
		keep     = flag.Bool("keep", false, "keep the output files of passing modes")
		duration = flag.Duration("duration", 0, "repeat the matrix with seeds seed, seed+1, … for this long")
		progress = flag.Duration("progress", 10*time.Second, "interval of progress lines while a mode runs (negative: none)")
		markdown = flag.Bool("markdown", false, "print the summary table in Markdown")
		binary   = flag.String("logfanin", "", "logfanin binary for the sidecar modes (default: build ./cmd/logfanin with go build)")
	)
	flag.Parse()
	if *list {
		for _, m := range stress.Modes() {
			fmt.Printf("%-22s %s\n", m.Name, m.Desc)
			if m.Bug != "" {
				fmt.Printf("%-22s known bug: %s\n", "", m.Bug)
			}
		}
		return 0
	}
	sel, err := stress.SelectModes(*modes)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	cfg := stress.Config{Modes: sel, Procs: *procs, Records: *records, MaxSize: *maxSize, Seed: *seed,
		Dir: *dir, Keep: *keep, Duration: *duration, Progress: *progress, Log: os.Stderr, Sidecar: *binary}
	for _, m := range sel {
		if strings.HasPrefix(m.Name, "sidecar") && cfg.Sidecar == "" {
			tmp, err := os.MkdirTemp("", "logfanin-stress-bin-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(tmp)
			if cfg.Sidecar, err = stress.BuildSidecar(tmp); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			break
		}
	}
	fmt.Fprintf(os.Stderr, "stress: seed %d, %d modes, %d producers × %d records up to %d bytes\n",
		cfg.Seed, len(sel), cfg.Procs, cfg.Records, cfg.MaxSize)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	results, err := stress.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
	}
	fmt.Printf("\nseed %d, %s, %s\n\n", cfg.Seed, time.Since(start).Round(time.Second), strings.Join(os.Args[1:], " "))
	stress.WriteTable(os.Stdout, results, *markdown)
	code := 0
	if err != nil {
		code = 1
	}
	for _, r := range results {
		if r.Rounds == 0 {
			continue
		}
		if !r.OK() {
			code = 1
			if r.Mode.Control {
				fmt.Printf("\n%s: the naive control passed verification: the verifier is blind here\n", r.Mode.Name)
			}
			for _, f := range r.Failures {
				fmt.Printf("\n%s: %s\n", r.Mode.Name, f)
			}
			if !r.Mode.Control {
				for _, ex := range r.Report.Examples {
					fmt.Printf("    %s\n", ex)
				}
			}
		}
	}
	return code
}
