package testproc

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process groups are used on Linux only (sysproc_linux.go), so this test
// is Linux-only too.

// TestKillReachesTheGroup: Kill ends a program and what it forked, and
// returns only once the program has been reaped.
func TestKillReachesTheGroup(t *testing.T) {
	sh := Require(t, "REQUIRE_X", "a POSIX shell", "sh", "/bin/sh")
	out := filepath.Join(t.TempDir(), "child.pid")
	// The shell forks a sleeper, records its pid and waits for it.
	cmd := exec.Command(sh, "-c", `sleep 60 & echo $! > "$0.tmp" && mv "$0.tmp" "$0"; wait`, out)
	p, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Kill(wait) })
	child := 0
	deadline := time.Now().Add(wait)
	for child == 0 {
		if b, err := os.ReadFile(out); err == nil {
			if child, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
				t.Fatalf("child pid %q: %v", b, err)
			}
			break
		}
		if time.Now().After(deadline) || !p.Running() {
			t.Fatalf("the shell did not report its child within %v (running: %v)", wait, p.Running())
		}
		time.Sleep(5 * time.Millisecond) // polling a file the child writes, bounded by the deadline
	}
	if err := p.Kill(wait); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if p.Running() {
		t.Fatal("Running after Kill returned")
	}
	var exitErr *exec.ExitError
	if err := p.Err(); !errors.As(err, &exitErr) {
		t.Fatalf("Err() = %v, want the exit error of a killed program", err)
	}
	// The forked sleeper got the group's SIGKILL too; once init has reaped
	// it, its pid is gone.
	for syscall.Kill(child, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the forked child %d survived Kill", child)
		}
		time.Sleep(5 * time.Millisecond) // waiting for init to reap it, bounded by the deadline
	}
	if err := p.Kill(wait); err != nil {
		t.Fatalf("second Kill: %v, want a no-op", err)
	}
}
