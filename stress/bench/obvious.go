package bench

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The obvious fan-in: the writer anyone would write in an afternoon, as
// the baseline for logfanin's stream socket. A goroutine per connection
// reads frames (the same wire format, so the same producers drive both)
// and appends each record, under one mutex, to a bufio.Writer on the
// output file, flushed when full and every 100 ms. No validation, no
// bound on memory or on a slow client, no acknowledgements: only the
// cost of moving the bytes. It runs in a process of its own, the
// benchmark binary re-executed, so that its CPU is measured as the
// sidecar's is.

// envObvious carries the obvious server's job, as JSON, to a re-executed
// benchmark binary.
const envObvious = "LOGFANIN_BENCH_OBVIOUS"

type obviousJob struct {
	Sock string // unix socket to listen on
	Out  string // output file
}

// startObvious starts the obvious fan-in listening on a socket in dir and
// writing to out, and waits until it serves. It is driven and stopped as
// the sidecar is: SIGTERM, then a stats line on its standard error.
func startObvious(cfg *Config, dir, out string) (*sidecar, error) {
	j := obviousJob{Sock: filepath.Join(dir, "obvious.sock"), Out: out}
	spec, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	s := &sidecar{name: "obvious fan-in", addr: "unix://" + j.Sock}
	s.cmd = exec.Command(cfg.Self)
	s.cmd.Env = append(os.Environ(), envObvious+"="+string(spec))
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.rss = monitorRSS(s.cmd.Process.Pid)
	if !awaitSocket(j.Sock) {
		s.kill()
		return nil, fmt.Errorf("obvious fan-in did not create its socket: %s", s.stderr.String())
	}
	return s, nil
}

// countingWriter counts the write(2) calls bufio makes.
type countingWriter struct {
	f      *os.File
	writes uint64
	bytes  uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	n, err := c.f.Write(p)
	c.bytes += uint64(n)
	return n, err
}

// runObvious is the obvious fan-in's process: it serves until SIGTERM,
// then waits for its clients to finish, flushes and prints its stats.
func runObvious(spec string) error {
	var j obviousJob
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		return fmt.Errorf("obvious: %w", err)
	}
	f, err := os.OpenFile(j.Out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("obvious: %w", err)
	}
	defer f.Close()
	cw := &countingWriter{f: f}
	w := bufio.NewWriterSize(cw, 64<<10)
	var (
		mu      sync.Mutex
		records atomic.Uint64
		wg      sync.WaitGroup
	)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	ln, err := net.Listen("unix", j.Sock)
	if err != nil {
		return fmt.Errorf("obvious: %w", err)
	}
	serve := func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReaderSize(c, 64<<10)
		var hdr [4]byte
		var buf []byte
		for {
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return
			}
			n := int(binary.BigEndian.Uint32(hdr[:]))
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			rec := buf[:n]
			if _, err := io.ReadFull(br, rec); err != nil {
				return
			}
			mu.Lock()
			w.Write(rec)
			if n == 0 || rec[n-1] != '\n' {
				w.WriteByte('\n')
			}
			mu.Unlock()
			records.Add(1)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c)
			}()
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var flushErr error
wait:
	for {
		select {
		case <-tick.C:
			mu.Lock()
			flushErr = errors.Join(flushErr, w.Flush())
			mu.Unlock()
		case <-sig:
			break wait
		}
	}
	ln.Close()
	wg.Wait()
	flushErr = errors.Join(flushErr, w.Flush())
	fmt.Fprintf(os.Stderr, "records=%d bytes=%d writes=%d\n", records.Load(), cw.bytes, cw.writes)
	if flushErr != nil {
		return fmt.Errorf("obvious: %w", flushErr)
	}
	return nil
}
