package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/logfanin/logfanin/internal/wire"
)

// The children of crash_test.go and security_test.go play roles of their
// own, chosen here before TestMain runs.
func init() {
	switch role := os.Getenv(envHelperRole); role {
	case "":
		return
	case "half-stream", "half-ring", "half-pipe":
		os.Exit(halfRecord(role[len("half-"):]))
	case "systemd":
		// systemd sets LISTEN_PID to the pid of the process it starts;
		// a fork can't know its pid before it exists, so the child sets
		// it for itself, as the service would find it.
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	case "setuid-producer":
		uid, _ := strconv.Atoi(os.Getenv("LOGFANIN_TEST_UID"))
		if err := syscall.Setgid(uid); err != nil {
			fmt.Fprintln(os.Stderr, "setgid:", err)
			os.Exit(1)
		}
		if err := syscall.Setuid(uid); err != nil {
			fmt.Fprintln(os.Stderr, "setuid:", err)
			os.Exit(1)
		}
		os.Exit(produce())
	default:
		fmt.Fprintf(os.Stderr, "unknown helper role %q\n", role)
		os.Exit(2)
	}
}

func writeChunks(pid uint32, rec []byte, write func([]byte)) {
	wire.WriteChunks(nil, wire.PipeBuf, pid, 1, rec, func(c []byte) error { write(c); return nil })
}
