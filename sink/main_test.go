package sink

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// envChild makes the test binary a child process that writes records to
// LOGFANIN_ADDR (an inherited pipe) and exits.
const envChild = "LOGFANIN_SINK_TEST_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(envChild); v != "" {
		os.Exit(child(v))
	}
	if v := os.Getenv(envAttacker); v != "" {
		os.Exit(attack(v))
	}
	goleak.VerifyTestMain(m)
}

// childGoroutines × childRecords records are written by each child, as
// goroutines g = id*childGoroutines + k.
const (
	childGoroutines = 3
	childRecords    = 150
)

func child(v string) int {
	id, err := strconv.Atoi(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := New("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	done := make(chan error)
	for k := range childGoroutines {
		go func() {
			g := id*childGoroutines + k
			for i := range childRecords {
				if _, err := s.Write(makeRecord(g, i, pipeRecordSize(g, i))); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range childGoroutines {
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// pipeRecordSize mixes records below and above PIPE_BUF.
func pipeRecordSize(g, i int) int { return 40 + (g*7919+i*104729)%13000 }
