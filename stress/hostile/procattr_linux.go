package hostile

import "syscall"

// dieWithParent makes a child process die with this one, so that an
// interrupted run leaves no writer or attacker behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
