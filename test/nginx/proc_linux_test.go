//go:build linux

package nginx

import "syscall"

// sysProcAttr puts the nginx master in its own process group, so one signal
// reaches its workers too, and asks the kernel to SIGKILL the master if the
// test binary dies without running its cleanups (panic, -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to the process group led by pid (master and
// workers).
func killGroup(pid int) error {
	return syscall.Kill(-pid, syscall.SIGKILL)
}
