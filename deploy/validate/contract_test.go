package validate

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository root relative to this module (deploy/validate).
const repoRoot = "../.."

// contract holds the names that docs/CONTRACT.md defines.
type contract struct {
	// settings are the SSEGATE_* environment variables of the settings table.
	settings map[string]bool
	// metrics maps every metric name of the Metrics section to its type
	// (counter, gauge or histogram).
	metrics map[string]string
}

var (
	settingRow = regexp.MustCompile(`(?m)^\|\s*(SSEGATE_[A-Z0-9_]+)\s*\|`)
	// A metric is a back-quoted name, optionally with its labels, followed by
	// its type: "`ssegate_x_total{reason}` counter".
	metricDef = regexp.MustCompile(`\x60(ssegate_[a-z0-9_]+)(?:\{[a-z_,]*\})?\x60\s+(counter|gauge|histogram)`)
)

// loadContract parses docs/CONTRACT.md.
func loadContract(t *testing.T) contract {
	t.Helper()
	path := filepath.Join(repoRoot, "docs", "CONTRACT.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read contract: %v", err)
	}
	text := string(data)
	c := contract{settings: map[string]bool{}, metrics: map[string]string{}}
	for _, m := range settingRow.FindAllStringSubmatch(text, -1) {
		c.settings[m[1]] = true
	}
	_, metricsSection, ok := strings.Cut(text, "## Metrics")
	if !ok {
		t.Fatalf("%s: no \"## Metrics\" section", path)
	}
	if i := strings.Index(metricsSection, "\n## "); i >= 0 {
		metricsSection = metricsSection[:i]
	}
	for _, m := range metricDef.FindAllStringSubmatch(metricsSection, -1) {
		c.metrics[m[1]] = m[2]
	}
	if len(c.settings) < 10 || len(c.metrics) < 10 {
		t.Fatalf("%s: parsed only %d settings and %d metrics; did its format change?", path, len(c.settings), len(c.metrics))
	}
	return c
}

// metricRef matches a metric-like name in a PromQL expression.
var metricRef = regexp.MustCompile(`ssegate_[a-z0-9_]+`)

// checkExprMetrics reports names in a PromQL expression that are not metrics
// of the contract (histograms are referenced through their _bucket, _sum and
// _count series) and returns the contract metrics it references.
func (c contract) checkExprMetrics(t *testing.T, where, expr string) []string {
	t.Helper()
	var found []string
	for _, name := range metricRef.FindAllString(expr, -1) {
		if typ, ok := c.metrics[name]; ok {
			if typ == "histogram" {
				t.Errorf("%s: histogram %s used without _bucket/_sum/_count in %q", where, name, expr)
			}
			found = append(found, name)
			continue
		}
		base, ok := histogramBase(name)
		if !ok || c.metrics[base] != "histogram" {
			t.Errorf("%s: %s is not a metric of docs/CONTRACT.md (expr %q)", where, name, expr)
			continue
		}
		found = append(found, base)
	}
	return found
}

// histogramBase strips a histogram series suffix.
func histogramBase(name string) (string, bool) {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return base, true
		}
	}
	return "", false
}

func TestContractParses(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	tests := []struct {
		name string
		ok   bool
	}{
		{"SSEGATE_REDIS_URL", c.settings["SSEGATE_REDIS_URL"]},
		{"SSEGATE_DRAIN_WINDOW", c.settings["SSEGATE_DRAIN_WINDOW"]},
		{"ssegate_gateway_connections gauge", c.metrics["ssegate_gateway_connections"] == "gauge"},
		{"ssegate_http_request_duration_seconds histogram", c.metrics["ssegate_http_request_duration_seconds"] == "histogram"},
		{"ssegate_publisher_events_published_total counter", c.metrics["ssegate_publisher_events_published_total"] == "counter"},
		{"auth cookie default is not a metric", c.metrics["ssegate_token"] == ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !tt.ok {
				t.Errorf("contract parse: %s missing", tt.name)
			}
		})
	}
}
