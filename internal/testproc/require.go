package testproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Required reports whether the environment variable env, read through
// getenv, asks for a failure instead of a skip when a test's dependency is
// missing. Anything strconv.ParseBool reads as true requires it; so does
// any other non-empty value that is not false ("yes"), erring on the side
// of not skipping. Empty or false values allow the skip.
func Required(getenv func(string) string, env string) bool {
	v := strings.TrimSpace(getenv(env))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// Missing ends the test because a dependency is missing: it is skipped,
// or failed when the environment variable env is set (see Required). msg
// says what is missing and how to get it.
func Missing(t testing.TB, env, msg string) {
	t.Helper()
	if Required(os.Getenv, env) {
		t.Fatal(msg + "; failing because " + env + " is set")
	}
	t.Skip(msg + "; set " + env + "=1 to fail instead of skipping")
}

// Find returns the first candidate that names an executable file, tried in
// order with exec.LookPath: a bare name ("nginx") is looked up on PATH, a
// path ("/usr/sbin/nginx") is checked as it is. A distribution's path as a
// later candidate finds programs in sbin directories or under a trimmed
// PATH (IDEs, sudo).
func Find(candidates ...string) (string, bool) {
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, true
		}
	}
	return "", false
}

// Require returns the path of the first of candidates that is an
// executable (see Find). Without one it ends the test through Missing:
// skipped, or failed when the environment variable env is set. install
// tells how to get the program ("apt-get install nginx-light").
func Require(t testing.TB, env, install string, candidates ...string) string {
	t.Helper()
	if p, ok := Find(candidates...); ok {
		return p
	}
	name := "program"
	if len(candidates) > 0 {
		name = filepath.Base(candidates[0])
	}
	Missing(t, env, name+" not found ("+install+")")
	return "" // not reached: Skip and Fatal end the test goroutine
}
