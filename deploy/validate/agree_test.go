package validate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// agree reports a difference between the kustomize manifests and the chart.
func agree(t *testing.T, what string, kustomize, chart any) {
	t.Helper()
	if !reflect.DeepEqual(kustomize, chart) {
		t.Errorf("%s differ:\n  deploy/kubernetes: %+v\n  chart:             %+v", what, kustomize, chart)
	}
}

// sortedEnv returns a container's env sorted by name.
func sortedEnv(ctr corev1.Container) []corev1.EnvVar {
	env := slices.Clone(ctr.Env)
	slices.SortFunc(env, func(a, b corev1.EnvVar) int { return strings.Compare(a.Name, b.Name) })
	return env
}

// TestChartAgreesWithKustomize: the chart with its default values, installed
// as release "ssegate", gives the objects of deploy/kubernetes the same
// names, ports, probes, drain timing (grace period, preStop), settings and
// their sources, resources, hardening, budgets and autoscaling. Labels
// differ (the chart adds the release), so they are not compared.
func TestChartAgreesWithKustomize(t *testing.T) {
	t.Parallel()
	k := loadKustomize(t)
	h := loadChart(t, chartCases[0])
	if len(h.deployments) != len(k.deployments) {
		t.Errorf("%d Deployments in the chart, %d in deploy/kubernetes", len(h.deployments), len(k.deployments))
	}
	for _, kd := range k.deployments {
		hd := h.deploymentByName(kd.Name)
		if hd == nil {
			t.Errorf("Deployment %s: not in the chart", kd.Name)
			continue
		}
		agree(t, kd.Name+" replicas", *kd.Spec.Replicas, *hd.Spec.Replicas)
		agree(t, kd.Name+" strategy", kd.Spec.Strategy, hd.Spec.Strategy)
		ks, hs := kd.Spec.Template.Spec, hd.Spec.Template.Spec
		agree(t, kd.Name+" terminationGracePeriodSeconds", *ks.TerminationGracePeriodSeconds, *hs.TerminationGracePeriodSeconds)
		agree(t, kd.Name+" pod securityContext", ks.SecurityContext, hs.SecurityContext)
		agree(t, kd.Name+" automountServiceAccountToken", ks.AutomountServiceAccountToken, hs.AutomountServiceAccountToken)
		if len(ks.Containers) != 1 || len(hs.Containers) != 1 {
			t.Fatalf("Deployment %s: %d and %d containers, want 1 each", kd.Name, len(ks.Containers), len(hs.Containers))
		}
		kc, hc := ks.Containers[0], hs.Containers[0]
		where := kd.Name + " container " + kc.Name
		agree(t, where+" name", kc.Name, hc.Name)
		agree(t, where+" ports", kc.Ports, hc.Ports)
		agree(t, where+" readinessProbe", kc.ReadinessProbe, hc.ReadinessProbe)
		agree(t, where+" livenessProbe", kc.LivenessProbe, hc.LivenessProbe)
		agree(t, where+" lifecycle (preStop)", kc.Lifecycle, hc.Lifecycle)
		agree(t, where+" resources", kc.Resources, hc.Resources)
		agree(t, where+" securityContext", kc.SecurityContext, hc.SecurityContext)
		agree(t, where+" env", sortedEnv(kc), sortedEnv(hc))
		agree(t, where+" envFrom", kc.EnvFrom, hc.EnvFrom)
	}
	agreeObjects(t, k, h)
}

// agreeObjects compares the ConfigMap, Services, budgets and autoscalers.
func agreeObjects(t *testing.T, k, h *manifests) {
	t.Helper()
	for _, kc := range k.configMaps {
		if hc := h.configMap(kc.Name); hc == nil {
			t.Errorf("ConfigMap %s: not in the chart", kc.Name)
		} else {
			agree(t, "ConfigMap "+kc.Name+" data", kc.Data, hc.Data)
		}
	}
	byName := func(m *manifests) map[string]any {
		out := map[string]any{}
		for _, s := range m.services {
			out["Service "+s.Name] = fmt.Sprint(s.Spec.Type, s.Spec.Ports)
		}
		for _, p := range m.pdbs {
			out["PodDisruptionBudget "+p.Name] = fmt.Sprint(p.Spec.MinAvailable, p.Spec.MaxUnavailable)
		}
		for _, a := range m.hpas {
			out["HorizontalPodAutoscaler "+a.Name] = fmt.Sprintf("%+v %d %+v %+v %+v", *a.Spec.MinReplicas, a.Spec.MaxReplicas,
				a.Spec.ScaleTargetRef, a.Spec.Metrics, a.Spec.Behavior)
		}
		return out
	}
	kb, hb := byName(k), byName(h)
	for name, kv := range kb {
		agree(t, name, kv, hb[name])
	}
	for name := range hb {
		if _, ok := kb[name]; !ok {
			t.Errorf("%s: in the chart, not in deploy/kubernetes", name)
		}
	}
}

// TestChartServiceMonitorAgrees: the chart's ServiceMonitor (production
// example) scrapes like deploy/kubernetes' one.
func TestChartServiceMonitorAgrees(t *testing.T) {
	t.Parallel()
	k := loadKustomize(t)
	h := loadChart(t, chartCases[1])
	if len(k.serviceMonitors) != 1 || len(h.serviceMonitors) != 1 {
		t.Fatalf("%d and %d ServiceMonitors, want 1 each", len(k.serviceMonitors), len(h.serviceMonitors))
	}
	ke, he := slices.Clone(k.serviceMonitors[0].Spec.Endpoints), slices.Clone(h.serviceMonitors[0].Spec.Endpoints)
	for i := range he {
		he[i].Relabelings = nil // the chart's sets the job label; checkServiceMonitors checks its result
	}
	agree(t, "ServiceMonitor endpoints", ke, he)
}

// TestChartAlertsInSync: Helm reads only files inside the chart, so the
// PrometheusRule comes from a copy of deploy/prometheus/alerts.yml, which
// must stay byte for byte the same.
func TestChartAlertsInSync(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	copyPath := filepath.Join(chartDir, "files", "alerts.yml")
	got, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from %s: cp deploy/prometheus/alerts.yml deploy/helm/ssegate/files/alerts.yml", copyPath, alertsPath)
	}
}
