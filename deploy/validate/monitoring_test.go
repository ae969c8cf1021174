package validate

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// alertsPath is the alert rule file of compose and kustomize users, and the
// source of the chart's PrometheusRule.
var alertsPath = filepath.Join(repoRoot, "deploy", "prometheus", "alerts.yml")

// alertJobs are the Prometheus job names that deploy/prometheus/alerts.yml
// (TargetDown) and the Grafana dashboard expect: the Service names of
// deploy/kubernetes, and compose's scrape jobs.
var alertJobs = []string{"ssegate-gateway", "ssegate-publisher"}

// serviceLabelMeta turns a Service label name into the Prometheus
// Operator's meta label for it (__meta_kubernetes_service_label_<name> with
// every character outside [a-zA-Z0-9_] replaced by "_").
var labelNameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// serviceMonitorJob is the job label a ServiceMonitor endpoint gives the
// targets of a Service: the Service name (the operator's default), unless a
// relabeling writes job from one of the Service's labels. Only the
// replace action with the default regex "(.*)" is modelled; any other
// relabeling of job yields a value that matches no known job.
func serviceMonitorJob(ep serviceMonitorEndpoint, svc *corev1.Service) string {
	job := svc.Name
	for _, r := range ep.Relabelings {
		if r.TargetLabel != "job" {
			continue
		}
		if (r.Action != "" && r.Action != "replace") || (r.Regex != "" && r.Regex != "(.*)") || len(r.SourceLabels) != 1 {
			return "<unmodelled relabeling>"
		}
		value := ""
		for k, v := range svc.Labels {
			if "__meta_kubernetes_service_label_"+labelNameUnsafe.ReplaceAllString(k, "_") == r.SourceLabels[0] {
				value = v
			}
		}
		job = value
		if r.Replacement != nil {
			job = strings.ReplaceAll(*r.Replacement, "$1", value)
		}
	}
	return job
}

// loadAlerts parses deploy/prometheus/alerts.yml strictly into a rule file.
func loadAlerts(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatalf("read alerts: %v", err)
	}
	var rf ruleFile
	if err := decodeStrict(data, &rf); err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	return rf
}

// checkPrometheusRules: a PrometheusRule holds exactly the rules of
// deploy/prometheus/alerts.yml (which promtool checks and unit-tests), so
// Helm users page on the same conditions as everyone else.
func checkPrometheusRules(t *testing.T, c contract, m *manifests) {
	t.Helper()
	if len(m.prometheusRules) == 0 {
		return
	}
	want := loadAlerts(t)
	for _, pr := range m.prometheusRules {
		if !reflect.DeepEqual(pr.Spec, want) {
			t.Errorf("PrometheusRule %s: its groups differ from %s", pr.Name, alertsPath)
		}
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				c.checkExprMetrics(t, "PrometheusRule "+pr.Name+" alert "+r.Alert, r.Expr)
			}
		}
	}
}
