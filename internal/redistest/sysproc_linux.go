//go:build linux

package redistest

import "syscall"

// sysProcAttr puts redis-server in its own process group (so a kill reaches
// its fork children too, e.g. a replication RDB child) and asks the kernel
// to SIGKILL it if the test binary dies without running its cleanups
// (panic, -timeout, SIGKILL), so no orphaned servers hold ports.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to the process group led by pid.
func killGroup(pid int) error {
	return syscall.Kill(-pid, syscall.SIGKILL)
}
