package hardening

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/redistest"
)

// buildCmds compiles the two binaries into a temp dir.
func buildCmds(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH to build the binaries")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", dir+string(os.PathSeparator), "../../cmd/gateway", "../../cmd/publisher")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// run starts bin with env only (no inherited SSEGATE_ settings) and
// returns its exit error and stderr; it must exit by itself within 30 s.
func run(t *testing.T, bin string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SSEGATE_LOG_FORMAT=json", "SSEGATE_LISTEN_ADDR=127.0.0.1:0"}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// TestStartup covers the attacks on configuration, against the real
// binaries (built once for both subtests).
func TestStartup(t *testing.T) {
	dir := buildCmds(t)
	t.Run("InsecureConfigurationRefused", func(t *testing.T) { insecureStartupRefused(t, dir) })
	t.Run("SecretsNeverLogged", func(t *testing.T) { secretsNeverLogged(t, dir) })
}

// insecureStartupRefused: a publisher with no credentials and no explicit
// anonymous flag, or a gateway asked for JWT subscribers without a key, or
// with a malformed origin or weak secret, refuses to start with a message
// that says what to set.
func insecureStartupRefused(t *testing.T, dir string) {
	pub, gw := filepath.Join(dir, "publisher"), filepath.Join(dir, "gateway")
	tests := []struct {
		name, bin string
		env       []string
		want      string
	}{
		{"publisher without credentials", pub, []string{"SSEGATE_REDIS_URL=redis://127.0.0.1:1/0"}, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true"},
		{"publisher with a short JWT secret", pub, []string{"SSEGATE_JWT_SECRET=short"}, "too short for HS256"},
		{"publisher with a missing key file", pub, []string{"SSEGATE_JWT_PUBLIC_KEY_FILE=/nonexistent.pem"}, "JWT public key"},
		{"gateway jwt mode without key", gw, []string{"SSEGATE_SUBSCRIBE_AUTH=jwt"}, "SSEGATE_JWT_SECRET"},
		{"gateway unknown auth mode", gw, []string{"SSEGATE_SUBSCRIBE_AUTH=basic"}, "want none or jwt"},
		{"gateway malformed origin", gw, []string{"SSEGATE_CORS_ORIGINS=app.example.com/path"}, "scheme://host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stderr, err := run(t, tt.bin, tt.env...)
			if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2; stderr:\n%s", err, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Fatalf("stderr does not mention %q:\n%s", tt.want, stderr)
			}
		})
	}
}

// secretsNeverLogged: a publisher run at debug level with static tokens
// and a JWT secret, attacked with wrong tokens, never writes a token or the
// secret to its log; the anonymous embedded gateway warns loudly.
func secretsNeverLogged(t *testing.T, dir string) {
	rd := redistest.Start(t)
	secrets := []string{staticToken, "second-static-token-abcdef", jwtSecret, "wrong-token-presented-by-attacker"}
	log := startLogged(t, filepath.Join(dir, "publisher"),
		"SSEGATE_REDIS_URL="+rd.URL(), "SSEGATE_LOG_LEVEL=debug",
		"SSEGATE_PUBLISH_TOKENS="+secrets[0]+","+secrets[1], "SSEGATE_JWT_SECRET="+jwtSecret)
	addr := log.waitFor(t, regexp.MustCompile(`"msg":"publisher listening","addr":"([^"]+)"`))
	for _, tok := range []string{secrets[3], "eyJhbGciOiJub25lIn0.eyJleHAiOjl9."} {
		res := post(t, "http://"+addr+"/v1/events", []byte(`{"topic":"a","data":1}`), bearer(tok))
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d %s", res.Status, res.Body)
		}
	}
	res := post(t, "http://"+addr+"/v1/events", []byte(`{"topic":"a","data":1}`), bearer(staticToken))
	if res.Status != http.StatusAccepted {
		t.Fatalf("good token: %d %s", res.Status, res.Body)
	}
	out := log.stop(t)
	if !strings.Contains(out, `"static_tokens":2`) {
		t.Fatalf("the log does not say what authentication is on:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("the log contains the secret %q:\n%s", s, out)
		}
	}

	gw := startLogged(t, filepath.Join(dir, "gateway"), "SSEGATE_LOG_LEVEL=info")
	gw.waitFor(t, regexp.MustCompile(`"msg":"gateway listening","addr":"([^"]+)"`))
	if out := gw.stop(t); !strings.Contains(out, "served without authentication") {
		t.Fatalf("embedded gateway did not warn about anonymous publishing:\n%s", out)
	}
}

// logged is a running binary whose stderr is collected.
type logged struct {
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	all   strings.Builder
	done  chan struct{}
}

func startLogged(t *testing.T, bin string, env ...string) *logged {
	t.Helper()
	return startLoggedArgs(t, bin, nil, env...)
}

// startLoggedArgs is startLogged with command-line arguments.
func startLoggedArgs(t *testing.T, bin string, args []string, env ...string) *logged {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SSEGATE_LOG_FORMAT=json", "SSEGATE_LISTEN_ADDR=127.0.0.1:0"}, env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &logged{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			l.mu.Lock()
			l.all.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
			select {
			case l.lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-l.done
		_ = cmd.Wait()
	})
	return l
}

// waitFor returns the first submatch of the first line matching re.
func (l *logged) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case line := <-l.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case <-l.done:
			t.Fatalf("process exited before logging %s:\n%s", re, l.output())
		case <-deadline.C:
			t.Fatalf("no log line %s within 30s:\n%s", re, l.output())
		}
	}
}

// stop sends SIGTERM, waits for a clean exit and returns the whole log.
func (l *logged) stop(t *testing.T) string {
	t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of SIGTERM:\n%s", l.output())
	}
	if err := l.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, l.output())
	}
	return l.output()
}

func (l *logged) output() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}
