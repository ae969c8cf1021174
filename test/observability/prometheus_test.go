//go:build linux

package observability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/testproc"
)

// requirePrometheus is set in CI (and by make test): a missing Prometheus
// or promtool fails the tests instead of skipping them.
const requirePrometheus = "REQUIRE_PROMETHEUS"

// findTool returns the path of a Prometheus tool, or skips the test (fails
// it under REQUIRE_PROMETHEUS=1) when it is not installed.
func findTool(t *testing.T, name string) string {
	t.Helper()
	return testproc.Require(t, requirePrometheus, "Debian: apt-get install -y prometheus", name, "/usr/bin/"+name)
}

// scrapeJob is one scrape_configs entry: a job name and a host:port.
type scrapeJob struct {
	Name, Target string
}

// prometheusServer is a real Prometheus child process.
type prometheusServer struct {
	URL     string // http://127.0.0.1:port
	proc    *testproc.Process
	logPath string
	client  *http.Client
}

// prometheusConfig renders a configuration scraping jobs every second.
func prometheusConfig(jobs []scrapeJob) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n")
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    metrics_path: /metrics\n    static_configs:\n      - targets: [%q]\n", j.Name, j.Target)
	}
	return b.String()
}

// startPrometheus runs /usr/bin/prometheus with a configuration scraping
// jobs every second, its TSDB in t.TempDir(), on a free loopback port, and
// returns once it answers /-/ready. It is SIGKILLed with its process group
// in t.Cleanup (and by the kernel if the test binary dies first).
func startPrometheus(t *testing.T, jobs []scrapeJob) *prometheusServer {
	t.Helper()
	bin := findTool(t, "prometheus")
	dir := t.TempDir() // registered first, so removed after the kill below
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(prometheusConfig(jobs)), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := range 3 { // a fresh port when another process took ours
		p, err := launchPrometheus(t, bin, dir, cfgPath, attempt)
		if err == nil {
			return p
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("prometheus: %v", lastErr)
	return nil
}

func launchPrometheus(t *testing.T, bin, dir, cfgPath string, attempt int) (*prometheusServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
		"--web.listen-address="+addr,
		"--log.level=info",
	)
	cmd.Dir = dir
	cmd.Stdout = logf // an *os.File goes to the child as is: no copy goroutine
	cmd.Stderr = logf
	// Own process group, so the kill reaches anything it forks; SIGKILL
	// from the kernel if this test binary dies without running cleanups.
	proc, err := testproc.Start(cmd) // owner: p, which every path kills
	logf.Close()
	if err != nil {
		return nil, err
	}
	p := &prometheusServer{
		URL: "http://" + addr, proc: proc, logPath: logPath,
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}},
	}
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("prometheus log (%s):\n%s", logPath, tail(logPath, 40))
		}
	})
	if err := p.waitReady(15 * time.Second); err != nil {
		p.kill(t)
		return nil, fmt.Errorf("%w\n%s", err, tail(logPath, 20))
	}
	return p, nil
}

// kill SIGKILLs the process group and waits until the process is reaped.
func (p *prometheusServer) kill(t *testing.T) {
	p.client.CloseIdleConnections()
	if err := p.proc.Kill(10 * time.Second); err != nil {
		t.Errorf("prometheus: %v", err)
	}
}

// waitReady polls /-/ready until it answers 200, the process exits, or
// timeout passes.
func (p *prometheusServer) waitReady(timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		resp, err := p.client.Get(p.URL + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		last = err
		select {
		case <-p.proc.Done():
			return fmt.Errorf("prometheus exited during start (last: %w)", last)
		case <-deadline.C:
			return fmt.Errorf("prometheus not ready within %v (last: %w)", timeout, last)
		case <-tick.C:
		}
	}
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string
	Value  float64
}

// query runs an instant query through GET /api/v1/query and returns the
// resulting vector.
func (p *prometheusServer) query(ctx context.Context, q string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: %s: decode: %w", q, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s %s: %s", q, resp.Status, body.ErrorType, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %q, want vector", q, body.Data.ResultType)
	}
	out := make([]sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, ok := r.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %q: value %v is not a string", q, r.Value)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %q: %w", q, s, err)
		}
		out = append(out, sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// waitFor polls q until it returns exactly one sample that satisfies ok,
// and returns that value; it fails the test at the deadline with the last
// result. Prometheus scrapes every second, so the value appears within a
// few polls of being true in the services.
func (p *prometheusServer) waitFor(t *testing.T, timeout time.Duration, q string, what string, ok func(float64) bool) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		res, err := p.query(ctx, q)
		switch {
		case err != nil:
			last = err.Error()
		case len(res) != 1:
			last = fmt.Sprintf("%d samples: %v", len(res), res)
		case ok(res[0].Value):
			return res[0].Value
		default:
			last = fmt.Sprintf("value %v", res[0].Value)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Prometheus: %s: want %s within %v; last: %s", q, what, timeout, last)
			return 0
		case <-tick.C:
		}
	}
}

// waitValue polls q until it returns exactly one sample equal to want.
func (p *prometheusServer) waitValue(t *testing.T, timeout time.Duration, q string, want float64) {
	t.Helper()
	p.waitFor(t, timeout, q, strconv.FormatFloat(want, 'g', -1, 64), func(v float64) bool { return v == want })
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
