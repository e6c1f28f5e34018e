package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"github.com/logfanin/logfanin/internal/logcheck"
)

// envPool, when set, makes the running binary the pool command that the
// sidecar supervises: it starts one producer per spec in the JSON list it
// holds, with the addresses the sidecar gave it.
const envPool = "LOGFANIN_STRESS_POOL"

// poolLine is what the pool prints on its standard output, which the
// sidecar turns into a record: it must reach the output too.
const poolLine = "stress pool: all producers done"

// supervise runs a round through the logfanin binary in supervise mode:
// logfanin -out FILE -- POOL, where POOL starts the producers, half on
// LOGFANIN_ADDR (a stream socket) and half on LOGFANIN_PIPE (the pipe on
// fd 3), and exits when they are done; the sidecar drains and exits with
// its status.
func (rd *round) supervise(ctx context.Context) (int, error) {
	var specs []spec
	for p := range rd.cfg.Procs {
		sp := rd.spec(p, "$LOGFANIN_ADDR")
		if p%2 == 1 {
			sp.Addr = "$LOGFANIN_PIPE"
		}
		specs = append(specs, sp)
		rd.expect[p] = sp.Records
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, rd.cfg.Sidecar, "-out", rd.out, "-max-size", strconv.Itoa(sidecarRotateMB),
		"-drain-timeout", drainTimeout.String(), "--", exe)
	cmd.Env = append(os.Environ(), envPool+"="+mustJSON(specs))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stop := rd.watch(ctx)
	err = cmd.Run()
	stop()
	rd.procsDone.Store(int32(rd.cfg.Procs))
	if err != nil {
		return 0, fmt.Errorf("logfanin -- pool: %w\n%s", err, stderr.String())
	}
	m := partialRE.FindAllStringSubmatch(stderr.String(), -1)
	if len(m) == 0 {
		return 0, fmt.Errorf("no summary line with partial=N from logfanin:\n%s", stderr.String())
	}
	partial, _ := strconv.Atoi(m[len(m)-1][1])
	// The line comes through its own input, so it may land in any file.
	files, err := logcheck.LogFiles(rd.out)
	found := false
	for _, f := range files {
		if b, rerr := os.ReadFile(f); rerr == nil && bytes.Contains(b, []byte(poolLine)) {
			found = true
		}
	}
	if err == nil && !found {
		err = fmt.Errorf("the pool's standard output line %q is not in the output", poolLine)
	}
	return partial, err
}

// runPool is the supervised command: it starts the producers in specs
// behind a starting gate, waits for them and prints poolLine.
func runPool(specsJSON string) error {
	var specs []spec
	if err := json.Unmarshal([]byte(specsJSON), &specs); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return err
	}
	var cmds []*exec.Cmd
	var errs []error
	for _, sp := range specs {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), envPool+"=", envChild+"="+mustJSON(sp))
		cmd.Stdin, cmd.Stderr = gateR, os.Stderr
		cmd.ExtraFiles = []*os.File{os.NewFile(3, "pipe")}
		if err := cmd.Start(); err != nil {
			errs = append(errs, err)
			break
		}
		cmds = append(cmds, cmd)
	}
	gateR.Close()
	gateW.Close()
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Println(poolLine)
	return nil
}
