// Command hostile measures the writer's CPU time per CPU time of a hostile
// client, for each pattern of cheap client work, against the real
// logfanin sidecar, and prints the table the README shows.
//
//	go run ./stress/cmd/hostile -duration 3s
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/logfanin/logfanin/stress"
	"github.com/logfanin/logfanin/stress/hostile"
)

func main() {
	hostile.Child() // an attacker process: runs and exits
	os.Exit(run())
}

func run() int {
	dur := flag.Duration("duration", 3*time.Second, "how long each attacker runs")
	only := flag.String("patterns", "", "comma-separated pattern names (default: all)")
	bin := flag.String("logfanin", "", "the logfanin binary (default: build it)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "logfanin-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin == "" {
		if *bin, err = stress.BuildSidecar(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println("| pattern | client does | client CPU | writer CPU | writer/client | writer's answer |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | --- |")
	failed := false
	for _, p := range hostile.Patterns {
		if *only != "" && !strings.Contains(","+*only+",", ","+p.Name+",") {
			continue
		}
		pd, err := os.MkdirTemp(dir, p.Name+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		r, err := hostile.Run(*bin, pd, p, *dur)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
			failed = true
			continue
		}
		answer := "serves it"
		if r.CutOff {
			answer = "cuts the client off (error frame)"
		}
		fmt.Printf("| %s | %s | %.2f s | %.2f s | %.2fx | %s |\n", p.Name, p.What,
			r.ClientCPU.Seconds(), r.WriterCPU.Seconds(), r.Amplification(), answer)
		fmt.Fprintf(os.Stderr, "%s: %d ops; %s\n", p.Name, r.Ops, r.Stats)
	}
	if failed {
		return 1
	}
	return 0
}
