//go:build !linux

package nginx

import (
	"os"
	"syscall"
)

// sysProcAttr returns no special attributes outside Linux: only t.Cleanup
// stops nginx.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the master process pid.
func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
