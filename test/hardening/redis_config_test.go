package hardening

import (
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/redistest"
)

// Redis settings of the configuration tests.
const (
	redisPassword = "right-password-0123"
	wrongPassword = "wrong-password-4567"
	passwordFix   = "redis rejected the password: set it in SSEGATE_REDIS_URL as redis://user:pass@host:port/db"
)

// TestRedisConfigErrors covers Redis settings that cannot work, against the
// real binaries (built once): at start they end the process with one line
// that says what to fix; found only once Redis comes up, they are an error
// log line and readiness stays failing.
func TestRedisConfigErrors(t *testing.T) {
	dir := buildCmds(t)
	t.Run("RefusedAtStart", func(t *testing.T) { configRefusedAtStart(t, dir) })
	t.Run("WrongPasswordFoundLater", func(t *testing.T) { wrongPasswordFoundLater(t, dir) })
}

// configRefusedAtStart: a wrong password, a missing password, a user
// without EVALSHA and malformed URLs each make both binaries exit non-zero
// with exactly one line besides the JSON log, the fix, and never the
// password or Redis's raw "broker unavailable" wording.
func configRefusedAtStart(t *testing.T, dir string) {
	srv := redistest.Start(t)
	srv.Do(t, "ACL", "SETUSER", "noscript", "on", ">"+redisPassword, "~*", "&*", "+@all", "-evalsha", "-eval")
	srv.Do(t, "CONFIG", "SET", "requirepass", redisPassword) // last: the helper's connections do not authenticate
	host := srv.Addr()
	tests := []struct {
		name, url, want string
	}{
		{"wrong password", "redis://:" + wrongPassword + "@" + host + "/0", passwordFix},
		{"wrong user and password", "redis://nobody:" + wrongPassword + "@" + host + "/0", passwordFix},
		{"no password", "redis://" + host + "/0", "redis requires a password: set it in SSEGATE_REDIS_URL as redis://user:pass@host:port/db"},
		{"user without EVALSHA", "redis://noscript:" + redisPassword + "@" + host + "/0",
			"the redis user lacks a permission (NOPERM this user has no permissions to run the 'evalsha' command): grant it with ACL SETUSER"},
		{"malformed port", "redis://:" + wrongPassword + "@127.0.0.1:port/0", "SSEGATE_REDIS_URL (-redis-url) is not a valid Redis URL"},
		{"no scheme", "localhost:6379", "SSEGATE_REDIS_URL (-redis-url) is not a valid Redis URL (invalid URL scheme: localhost)"},
	}
	for _, bin := range []string{"gateway", "publisher"} {
		for _, tt := range tests {
			t.Run(bin+" "+tt.name, func(t *testing.T) {
				t.Parallel()
				stderr, err := run(t, filepath.Join(dir, bin), "SSEGATE_REDIS_URL="+tt.url, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true")
				wantOneLine(t, bin, stderr, err, tt.want)
			})
		}
	}
}

// wantOneLine checks a refused start: a non-zero exit and, besides JSON
// log lines, exactly the line "<bin>: <fix…>".
func wantOneLine(t *testing.T, bin, stderr string, err error, want string) {
	t.Helper()
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit: %v, want a non-zero status; stderr:\n%s", err, stderr)
	}
	var plain []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(line, "{") {
			plain = append(plain, line)
		}
	}
	if len(plain) != 1 || !strings.HasPrefix(plain[0], bin+": "+want) {
		t.Fatalf("stderr lines besides the log: %q, want one starting %q", plain, bin+": "+want)
	}
	for _, bad := range []string{wrongPassword, redisPassword, "broker unavailable", "WRONGPASS", "NOAUTH"} {
		if strings.Contains(stderr, bad) {
			t.Fatalf("stderr contains %q:\n%s", bad, stderr)
		}
	}
}

// wrongPasswordFoundLater: a publisher started while Redis is down cannot
// know the password is wrong. Once Redis is up it logs the fix as an error
// and stays not ready (503), instead of exiting: the operator may fix the
// password on the Redis side, and the failing readiness keeps it out of
// the load balancer meanwhile.
func wrongPasswordFoundLater(t *testing.T, dir string) {
	srv := redistest.Start(t) // user "nobody" does not exist: any password is wrong
	if !srv.Restartable() {
		t.Skip("needs a Redis the test can stop (not REDIS_ADDR or a container)")
	}
	srv.Stop(t)
	log := startLogged(t, filepath.Join(dir, "publisher"), "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true",
		"SSEGATE_REDIS_URL=redis://nobody:"+wrongPassword+"@"+srv.Addr()+"/0")
	addr := log.waitFor(t, regexp.MustCompile(`"msg":"publisher listening","addr":"([^"]+)"`))
	srv.Restart(t)
	log.waitFor(t, regexp.MustCompile(`"level":"ERROR","msg":"(`+regexp.QuoteMeta(passwordFix)+`)`))
	wantError(t, get(t, "http://"+addr+"/readyz", nil), http.StatusServiceUnavailable, "redis_unavailable", "Retry-After", "*")
	out := log.stop(t)
	if n := strings.Count(out, passwordFix); n != 1 {
		t.Fatalf("the fix was logged %d times, want once:\n%s", n, out)
	}
	if strings.Contains(out, wrongPassword) {
		t.Fatalf("the log contains the password:\n%s", out)
	}
}
