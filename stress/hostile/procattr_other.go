//go:build !linux

package hostile

import "syscall"

// dieWithParent: only Linux has a parent-death signal.
func dieWithParent() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
