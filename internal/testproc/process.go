package testproc

import (
	"fmt"
	"os/exec"
	"time"
)

// Process is a program started by Start. Its reaper goroutine ends when
// the program exits, which Kill guarantees: every owner of a Process must
// Kill it (typically in t.Cleanup).
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, written before done is closed
}

// Start starts cmd in a new process group, so that Kill reaches whatever
// the program forks, and on Linux with SIGKILL as its parent-death signal,
// so that it dies with the test binary even when no cleanup runs (panic,
// -timeout, SIGKILL). It replaces cmd.SysProcAttr. The error wraps
// cmd.Start's. Files given as cmd.Stdout/Stderr are handed to the child
// as they are (no copy goroutine), so the caller may close its copy once
// Start returns.
func Start(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	// Owner: p. Exit: when the program exits, which Kill guarantees.
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the program's process id (and its process group's id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the program has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the program ended (exec.Cmd.Wait's result); it is valid only
// after Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Running reports whether the program has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill SIGKILLs the program's process group (the program alone where there
// are no groups, or when the group is already gone) and waits until the
// program has been reaped, at most timeout, so its ports are closed when
// Kill returns nil. Killing a program that has exited is a no-op.
func (p *Process) Kill(timeout time.Duration) error {
	if !p.Running() {
		return nil
	}
	if err := killGroup(p.Pid()); err != nil {
		_ = p.cmd.Process.Kill() // the group may be gone: fall back to the leader
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		return fmt.Errorf("pid %d did not exit within %v of SIGKILL", p.Pid(), timeout)
	}
}
