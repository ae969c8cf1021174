package ctl

import (
	"strings"
	"testing"
)

// TestHelpAndUsageErrors: every command answers -h on standard output with
// status 0; an unknown flag, an unknown command or no command at all is
// status 2 with the usage on standard error.
func TestHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"tail", "publish", "status", "token", "check-config", "version"} {
		r := ctl(t, nil, "", cmd, "-h")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: ssegatectl "+cmd) {
			t.Errorf("%s -h: exit %d, stdout %q", cmd, r.code, r.stdout)
		}
		r = ctl(t, nil, "", cmd, "-no-such-flag")
		if r.code != 2 || !strings.Contains(r.stderr, "-no-such-flag") || !strings.Contains(r.stderr, "Usage: ssegatectl "+cmd) {
			t.Errorf("%s -no-such-flag: exit %d, stderr %q", cmd, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{nil, {"frobnicate"}} {
		if r := ctl(t, nil, "", args...); r.code != 2 || !strings.Contains(r.stderr, "Usage: ssegatectl <command>") {
			t.Errorf("ssegatectl %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := ctl(t, nil, "", "-h"); r.code != 0 || !strings.Contains(r.stdout, "check-config") {
		t.Errorf("ssegatectl -h: exit %d, stdout %q", r.code, r.stdout)
	}
}
