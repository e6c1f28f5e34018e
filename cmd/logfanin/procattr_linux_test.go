package main

import "syscall"

// dieWithParent makes a child process die with the test binary, so that a
// test killed by its timeout leaves no writers or producers behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
