// Package ctl runs the built ssegatectl binary against the real gateway
// and publisher programs (test/harness) on a real redis-server
// (internal/redistest): every command end to end, as an operator runs it.
//
//	REQUIRE_REDIS=1 go test -race -count=1 ./test/ctl/
package ctl

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/settings"
	"github.com/ssegate/ssegate/test/harness"
)

// bin is the ssegatectl binary TestMain builds.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ssegatectl-test")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "ssegatectl")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/ssegatectl").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("go build ssegatectl: " + err.Error() + "\n" + string(out))
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// waitFor bounds every wait in this package.
const waitFor = 30 * time.Second

// result is a finished ssegatectl run.
type result struct {
	stdout, stderr string
	code           int
}

// ctl runs ssegatectl with args, env only (plus PATH) and stdin, and
// waits for it to exit.
func ctl(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("ssegatectl %v: %v", args, err)
	}
	return r
}

// mustCtl runs ssegatectl and fails the test unless it exits 0.
func mustCtl(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	r := ctl(t, env, stdin, args...)
	if r.code != 0 {
		t.Fatalf("ssegatectl %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// background is an ssegatectl run the test reads line by line while it
// runs.
type background struct {
	cmd   *exec.Cmd
	lines chan string // closed when stdout closes
	done  chan error  // the exit, once
}

// start runs ssegatectl in the background; Cleanup kills it.
func start(t *testing.T, env []string, args ...string) *background {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &background{cmd: cmd, lines: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
		_, _ = io.Copy(io.Discard, out)
		b.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case err := <-b.done:
			_ = err // killed (or ended earlier, see exit): its status says nothing here
		case <-time.After(waitFor):
			t.Errorf("ssegatectl %v did not end after kill", args)
			return
		}
		if t.Failed() {
			t.Logf("ssegatectl %v stderr:\n%s", args, stderr.String())
		}
	})
	return b
}

// next returns the next line of output.
func (b *background) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-b.lines:
		if !ok {
			t.Fatal("ssegatectl ended before the next line")
		}
		return l
	case <-time.After(waitFor):
		t.Fatalf("no line within %v", waitFor)
	}
	return ""
}

// exit waits for the process to end by itself and returns its error.
func (b *background) exit(t *testing.T) error {
	t.Helper()
	for range b.lines { // drain
	}
	select {
	case err := <-b.done:
		b.done <- err // for Cleanup
		return err
	case <-time.After(waitFor):
		t.Fatalf("ssegatectl did not exit within %v", waitFor)
	}
	return nil
}

// services starts a publisher and a gateway on redisURL, each configured
// from env (SSEGATE_* pairs) through internal/settings, as the binaries
// are.
func services(t *testing.T, redisURL string, env map[string]string) (gw *harness.Gateway, pub *harness.Publisher) {
	t.Helper()
	return startGateway(t, redisURL, env), startPublisher(t, redisURL, env)
}

// withRedis is env with the Redis URL and JSON logs.
func withRedis(redisURL string, env map[string]string) map[string]string {
	full := map[string]string{"SSEGATE_REDIS_URL": redisURL, "SSEGATE_LOG_FORMAT": "json"}
	for k, v := range env {
		full[k] = v
	}
	return full
}

// discard is where the services' -h and start-up output go.
var discard = settings.Output{Stdout: io.Discard, Stderr: io.Discard}

// startGateway runs a gateway configured from env through
// internal/settings.
func startGateway(t *testing.T, redisURL string, env map[string]string) *harness.Gateway {
	t.Helper()
	g, done, err := settings.LoadGateway(context.Background(), nil, withRedis(redisURL, env), settings.Build{Name: "gateway", Version: "test"}, discard)
	if done {
		t.Fatalf("gateway settings: %v", err)
	}
	g.Program.Logger = harness.Logger()
	return harness.StartGateway(t, g.Program)
}

// startPublisher runs a publisher configured from env through
// internal/settings.
func startPublisher(t *testing.T, redisURL string, env map[string]string) *harness.Publisher {
	t.Helper()
	p, done, err := settings.LoadPublisher(context.Background(), nil, withRedis(redisURL, env), settings.Build{Name: "publisher"}, discard)
	if done {
		t.Fatalf("publisher settings: %v", err)
	}
	p.Program.Logger = harness.Logger()
	p.Program.PublishTimeout = waitFor
	return harness.StartPublisher(t, p.Program)
}
