//go:build linux

package observability

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPromtoolChecksDeployConfig runs promtool over the Prometheus files in
// deploy/prometheus: the configuration (which also loads alerts.yml), the
// rules on their own, and the rules' unit tests.
func TestPromtoolChecksDeployConfig(t *testing.T) {
	promtool := findTool(t, "promtool")
	dir := filepath.Join(repoRoot, "deploy", "prometheus")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"check config", []string{"check", "config", filepath.Join(dir, "prometheus.yml")}},
		{"check rules", []string{"check", "rules", filepath.Join(dir, "alerts.yml")}},
		{"test rules", []string{"test", "rules", filepath.Join(dir, "alerts_test.yml")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(tc.args[len(tc.args)-1]); err != nil {
				t.Fatalf("missing file: %v", err)
			}
			runPromtool(t, promtool, tc.args...)
		})
	}
}

// TestPromtoolAcceptsGeneratedConfig checks the configuration the
// integration test gives Prometheus, so a config error shows up as such
// rather than as a Prometheus that never becomes ready.
func TestPromtoolAcceptsGeneratedConfig(t *testing.T) {
	t.Parallel()
	promtool := findTool(t, "promtool")
	path := filepath.Join(t.TempDir(), "prometheus.yml")
	cfg := prometheusConfig([]scrapeJob{{gatewayJob, "127.0.0.1:1"}, {publisherJob, "127.0.0.1:2"}})
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, promtool, "check", "config", path)
}

// runPromtool runs promtool with args (bounded: 60 s) and fails the test
// with its output unless it exits 0.
func runPromtool(t *testing.T, promtool string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}
