package nginx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/testproc"
)

const (
	// envRequire turns "nginx missing" from a skip into a failure (CI).
	envRequire = "REQUIRE_NGINX"
	// fallbackBin is Debian's nginx, used when nginx is not on PATH.
	fallbackBin = "/usr/sbin/nginx"
	// startTimeout bounds one nginx start (it takes tens of ms).
	startTimeout = 10 * time.Second
	// startAttempts bounds retries when the chosen port was taken meanwhile.
	startAttempts = 3
)

// nginxBinary returns the nginx to run, or skips (fails with REQUIRE_NGINX)
// when there is none.
func nginxBinary(t testing.TB) string {
	t.Helper()
	return testproc.Require(t, envRequire, "apt-get install nginx-light", "nginx", fallbackBin)
}

// proxy is a running nginx master (and its workers) in front of the
// test's programs.
type proxy struct {
	URL  string // http://127.0.0.1:port
	dir  string
	proc *testproc.Process // the master, in its own process group with its workers
}

// startProxy renders the deploy configuration for the given upstreams into
// a temporary prefix and runs nginx on a free loopback port until the test
// ends. The error log is printed when the test fails.
func startProxy(t testing.TB, gatewayAddr, publisherAddr string, readTimeout time.Duration) *proxy {
	t.Helper()
	bin := nginxBinary(t)
	mainSrc, siteSrc := readDeploy(t)
	var lastErr error
	for attempt := range startAttempts {
		dir := filepath.Join(t.TempDir(), "nginx")
		tg := target{
			dir: dir, listen: freeAddr(t), gateway: gatewayAddr, publisher: publisherAddr,
			readTimeout: readTimeout, root: os.Geteuid() == 0,
		}
		if err := render(tg, mainSrc, siteSrc); err != nil {
			t.Fatalf("render nginx config: %v", err)
		}
		p, err := launch(t, bin, tg)
		if err == nil {
			return p
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
		t.Logf("nginx attempt %d: %v; trying another port", attempt+1, err)
	}
	t.Fatalf("start nginx: %v", lastErr)
	return nil
}

// errAddrInUse means the port picked for nginx was taken before it bound.
var errAddrInUse = errors.New("address already in use")

// launch starts nginx with the rendered configuration and waits until it
// answers /nginx-health. On success the process is killed by t.Cleanup.
func launch(t testing.TB, bin string, tg target) (*proxy, error) {
	t.Helper()
	errorLog := filepath.Join(tg.dir, "error.log")
	out, err := os.Create(filepath.Join(tg.dir, "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("nginx output file: %w", err)
	}
	cmd := exec.Command(bin,
		"-p", tg.dir+"/",
		"-c", filepath.Join(tg.dir, "nginx.conf"),
		"-e", errorLog,
		"-g", fmt.Sprintf("daemon off; pid %s; error_log %s info;", filepath.Join(tg.dir, "nginx.pid"), errorLog),
	)
	cmd.Dir = tg.dir
	cmd.Stdout, cmd.Stderr = out, out // *os.File: handed to the child, no copy goroutine
	proc, err := testproc.Start(cmd)  // owner: p, which every path kills
	out.Close()                       // the child holds its own descriptor
	if err != nil {
		return nil, err
	}
	p := &proxy{URL: "http://" + tg.listen, dir: tg.dir, proc: proc}
	if err := p.waitReady(); err != nil {
		p.kill(t)
		logs := p.logs()
		if strings.Contains(logs, "Address already in use") {
			return nil, fmt.Errorf("nginx on %s: %w", tg.listen, errAddrInUse)
		}
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("nginx logs (%s):\n%s", p.dir, p.logs())
		}
	})
	return p, nil
}

// waitReady polls /nginx-health until nginx answers 200, exits, or
// startTimeout passes.
func (p *proxy) waitReady() error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		resp, err := client.Get(p.URL + "/nginx-health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-p.proc.Done():
			if err := p.proc.Err(); err != nil {
				return fmt.Errorf("nginx exited during start: %w", err)
			}
			return errors.New("nginx exited during start")
		case <-deadline.C:
			return fmt.Errorf("nginx not ready within %v: %w", startTimeout, last)
		case <-tick.C:
		}
	}
}

// kill SIGKILLs nginx's process group (master and workers) and waits until
// the master has been reaped. Calling it again is a no-op.
func (p *proxy) kill(t testing.TB) {
	t.Helper()
	if err := p.proc.Kill(10 * time.Second); err != nil {
		t.Errorf("nginx: %v", err)
	}
}

// logs returns nginx's error log and console output.
func (p *proxy) logs() string {
	var b strings.Builder
	for _, name := range []string{"error.log", "stdout.log"} {
		data, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s\n%s", name, data)
	}
	return b.String()
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
