package validate

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// chartDir is the Helm chart, relative to this module.
var chartDir = filepath.Join(repoRoot, "deploy", "helm", "ssegate")

// chartCase is one rendering of the chart: a release name and values files
// (later ones override earlier ones), plus the Secrets the values expect the
// user to create, which are added to the rendered objects so that
// references to them are checked.
type chartCase struct {
	name     string
	release  string
	values   []string
	external string
}

// chartCases are the renderings checked: the defaults under the release
// name that gives deploy/kubernetes' object names, and the production
// example under another name (the ServiceMonitor must still produce the
// jobs the alerts know).
var chartCases = []chartCase{
	{name: "default", release: "ssegate"},
	{
		name:     "production",
		release:  "spool-sse",
		values:   []string{filepath.Join(chartDir, "values-production.yaml")},
		external: filepath.Join("testdata", "production-secrets.yaml"),
	},
}

// renderChart renders the chart the way `helm template` does (strict: a
// template reading a value that does not exist fails) and returns the
// rendered files by template name.
func renderChart(t *testing.T, release string, values map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart %s: %v", chartDir, err)
	}
	opts := common.ReleaseOptions{Name: release, Namespace: "ssegate", Revision: 1, IsInstall: true}
	vals, err := util.ToRenderValues(ch, values, opts, nil)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	e := engine.Engine{Strict: true}
	return e.RenderWithContext(t.Context(), ch, vals)
}

// readValues reads and merges values files as `helm -f a -f b` does for
// these files (maps merged key by key, anything else replaced).
func readValues(t *testing.T, files ...string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read values: %v", err)
		}
		v, err := loader.LoadValues(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = util.MergeTables(v, out)
	}
	return out
}

// loadChart renders one case and decodes every rendered object strictly
// into m, together with the case's external Secrets.
func loadChart(t *testing.T, cc chartCase) *manifests {
	t.Helper()
	files, err := renderChart(t, cc.release, readValues(t, cc.values...))
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	m := &manifests{files: map[string][]manifest{}}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt, helpers
		}
		for _, err := range m.decodeDocuments(name, []byte(files[name])) {
			t.Error(err)
		}
	}
	if cc.external != "" {
		data, err := os.ReadFile(cc.external)
		if err != nil {
			t.Fatalf("read %s: %v", cc.external, err)
		}
		for _, err := range m.decodeDocuments(cc.external, data) {
			t.Error(err)
		}
	}
	return m
}

// TestChartInvariants renders the chart for each case and runs the same
// invariants as for deploy/kubernetes on the result.
func TestChartInvariants(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	for _, cc := range chartCases {
		t.Run(cc.name, func(t *testing.T) {
			t.Parallel()
			m := loadChart(t, cc)
			want := map[string]int{
				"Deployment": len(m.deployments), "Service": len(m.services), "ConfigMap": len(m.configMaps),
				"PodDisruptionBudget": len(m.pdbs), "HorizontalPodAutoscaler": len(m.hpas),
			}
			if cc.name == "production" {
				want["Ingress"] = len(m.ingresses)
				want["ServiceMonitor"] = len(m.serviceMonitors)
				want["PrometheusRule"] = len(m.prometheusRules)
			}
			for kind, n := range want {
				if n == 0 {
					t.Errorf("no %s rendered", kind)
				}
			}
			checkManifests(t, c, m)
		})
	}
}

// writeFile writes a test's file.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// TestChartRefuses: values that would deploy something broken stop the
// rendering with a message naming the value to fix.
func TestChartRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		overrides string
		want      string
	}{
		{"no Redis URL", "secrets:\n  redisURL: \"\"\n", "secrets.redisURL is empty"},
		{"Redis URL for one component only", "secrets:\n  redisURL: \"\"\ngateway:\n  redisURL: redis://r:6379/0\n", "secrets.redisURL is empty"},
		{"ingress to an unknown service", "ingress:\n  enabled: true\n  hosts:\n    - host: x\n      paths:\n        - {path: /, pathType: Prefix, service: redis}\n", `service "redis" is neither gateway nor publisher`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := t.TempDir() + "/values.yaml"
			writeFile(t, path, tt.overrides)
			_, err := renderChart(t, "ssegate", readValues(t, path))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("render error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
