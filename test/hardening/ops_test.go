package hardening

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/redistest"
)

// TestOps covers operating the real binaries (built once): settings that
// must refuse the start, exit statuses, and secrets that must not leak
// through messages or the profiling listener.
func TestOps(t *testing.T) {
	dir := buildCmds(t)
	t.Run("MisspeltSettingRefused", func(t *testing.T) { misspeltSettingRefused(t, dir) })
	t.Run("SharedEnvironment", func(t *testing.T) { sharedEnvironment(t, dir) })
	t.Run("ExitStatus", func(t *testing.T) { exitStatus(t, dir) })
	t.Run("RedisPasswordRedacted", func(t *testing.T) { redisPasswordRedacted(t, dir) })
	t.Run("SeedsAgainstStandalone", func(t *testing.T) { seedsAgainstStandalone(t, dir) })
	t.Run("PprofHasNoCmdline", func(t *testing.T) { pprofHasNoCmdline(t, dir) })
}

// runArgs runs bin with args and env only; it must exit within 30 s. It
// returns the exit status (-1 when killed), stdout and stderr.
func runArgs(t *testing.T, bin string, args []string, env ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SSEGATE_LOG_FORMAT=json", "SSEGATE_LISTEN_ADDR=127.0.0.1:0"}, env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", bin, err)
	}
	return code, out.String(), errOut.String()
}

// misspeltSettingRefused: SSEGATE_REDIS_ULR used to start the gateway's
// embedded broker with open publishing on :8080. Each binary refuses to
// start and names the setting that was meant.
func misspeltSettingRefused(t *testing.T, dir string) {
	for _, bin := range []string{"gateway", "publisher"} {
		t.Run(bin, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runArgs(t, filepath.Join(dir, bin), nil,
				"SSEGATE_REDIS_ULR=redis://127.0.0.1:1/0", "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true")
			if code != 2 || !strings.Contains(stderr, "SSEGATE_REDIS_ULR") || !strings.Contains(stderr, "SSEGATE_REDIS_URL") {
				t.Fatalf("exit %d, want 2 with a line naming SSEGATE_REDIS_ULR and SSEGATE_REDIS_URL; stderr:\n%s", code, stderr)
			}
		})
	}
}

// helpNames runs bin -h (which exits 0) and returns the variables it lists.
func helpNames(t *testing.T, bin string) []string {
	t.Helper()
	code, _, stderr := runArgs(t, bin, []string{"-h"})
	if code != 0 {
		t.Fatalf("%s -h: exit %d, want 0", bin, code)
	}
	names := regexp.MustCompile(`(?m)^-\S+\s+(SSEGATE_[A-Z0-9_]+)`).FindAllStringSubmatch(stderr, -1)
	if len(names) < 20 {
		t.Fatalf("%s -h lists %d settings:\n%s", bin, len(names), stderr)
	}
	var out []string
	for _, m := range names {
		out = append(out, m[1])
	}
	return out
}

// sharedEnvironment: one environment file (the Kubernetes ConfigMap is
// shared through envFrom) serves both services: each binary starts with
// every setting only the other one has.
func sharedEnvironment(t *testing.T, dir string) {
	bins := []string{filepath.Join(dir, "gateway"), filepath.Join(dir, "publisher")}
	names := [][]string{helpNames(t, bins[0]), helpNames(t, bins[1])}
	for i, bin := range bins {
		var env []string
		for _, n := range names[1-i] {
			if !slices.Contains(names[i], n) {
				env = append(env, n+"=other-service-value")
			}
		}
		code, stdout, stderr := runArgs(t, bin, []string{"-version"}, env...)
		if code != 0 || !strings.Contains(stdout, "commit") {
			t.Errorf("%s -version with the other service's settings %q: exit %d, stdout %q, stderr:\n%s", bin, env, code, stdout, stderr)
		}
	}
}

// exitStatus: -h exits 0; -healthcheck against a service that is not
// there exits 1 (Docker reads 1 as unhealthy and reserves 2).
func exitStatus(t *testing.T, dir string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, bin := range []string{"gateway", "publisher"} {
		if code, _, stderr := runArgs(t, filepath.Join(dir, bin), []string{"-h"}); code != 0 || !strings.Contains(stderr, "SSEGATE_LISTEN_ADDR") {
			t.Errorf("%s -h: exit %d, want 0 with the settings; stderr:\n%s", bin, code, stderr)
		}
		if code, _, stderr := runArgs(t, filepath.Join(dir, bin), []string{"-healthcheck", "-listen", closed}); code != 1 {
			t.Errorf("%s -healthcheck on a closed port: exit %d, want 1; stderr:\n%s", bin, code, stderr)
		}
	}
}

// redisPasswordRedacted: a malformed Redis URL is refused at start with a
// message that says what is wrong and never shows the password, nor a
// piece of it quoted by net/url.
func redisPasswordRedacted(t *testing.T, dir string) {
	for _, url := range []string{
		"redis://user:s3cr3tpass@host:notaport/0",
		"redis://user:s3cr3t%zzpass@host/0",
		"redis://user:s3/cr3tpass@host/0",
		"redis://:s3cr3tpass@ho st/0",
	} {
		for _, bin := range []string{"gateway", "publisher"} {
			code, _, stderr := runArgs(t, filepath.Join(dir, bin), nil,
				"SSEGATE_REDIS_URL="+url, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true")
			if code != 2 || !strings.Contains(stderr, "xxxxx") {
				t.Errorf("%s with %q: exit %d, want 2 and a redacted URL; stderr:\n%s", bin, url, code, stderr)
			}
			for _, piece := range []string{"s3cr3t", "cr3tpass", "%zz", `":s3"`} {
				if strings.Contains(stderr, piece) {
					t.Errorf("%s with %q: stderr shows %q:\n%s", bin, url, piece, stderr)
				}
			}
		}
	}
}

// seedsAgainstStandalone: addr= seeds make rueidis treat Redis as a
// Cluster; against a standalone server the start is refused with a line that
// says so, instead of "broker unavailable … cluster support disabled".
func seedsAgainstStandalone(t *testing.T, dir string) {
	rd := redistest.Start(t)
	url := rd.URL() + "/0?addr=" + rd.Addr()
	for _, bin := range []string{"gateway", "publisher"} {
		code, _, stderr := runArgs(t, filepath.Join(dir, bin), nil,
			"SSEGATE_REDIS_URL="+url, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true")
		if code != 2 || !strings.Contains(stderr, "addr= seeds are for Redis Cluster; this server is standalone") {
			t.Errorf("%s with %s: exit %d, want 2 and a clear line; stderr:\n%s", bin, url, code, stderr)
		}
	}
}

// pprofHasNoCmdline: /debug/pprof/cmdline printed the process's flags,
// secrets included. It answers 404; the profiles are still served.
func pprofHasNoCmdline(t *testing.T, dir string) {
	const secret = "pprof-flag-secret-0123456789abcdefgh"
	gw := startLoggedArgs(t, filepath.Join(dir, "gateway"), []string{"-jwt-secret", secret},
		"SSEGATE_PPROF_ADDR=127.0.0.1:0")
	addr := gw.waitFor(t, regexp.MustCompile(`"msg":"serving profiles","addr":"([^"]+)"`))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for path, want := range map[string]int{"/debug/pprof/cmdline": http.StatusNotFound, "/debug/pprof/goroutine?debug=1": http.StatusOK} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want || strings.Contains(string(body), secret) {
			t.Errorf("GET %s: %d (want %d), body shows the secret: %v", path, resp.StatusCode, want, strings.Contains(string(body), secret))
		}
	}
	gw.stop(t)
}
