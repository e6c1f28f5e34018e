// Package proccpu reads the CPU time a running process has used so far,
// for measurements of processes that have not exited yet (an exited one
// has it in its os.ProcessState).
package proccpu

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Of returns the user and system time of the running process pid, all
// its threads, from /proc/PID/stat, in clock ticks of 10 ms (USER_HZ).
// Where there is no /proc (macOS, FreeBSD by default) it returns an
// error.
func Of(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields count from its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}
