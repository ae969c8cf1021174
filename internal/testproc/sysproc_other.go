//go:build !linux

package testproc

import (
	"os"
	"syscall"
)

// sysProcAttr returns no special attributes outside Linux: there is no
// parent-death signal, so only the owner's Kill stops the program.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process pid (no process groups here).
func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
