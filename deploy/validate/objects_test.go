package validate

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkConfigAndSecretKeys: every ConfigMap and Secret key is a setting,
// durations parse, the drain window is shorter than the grace.
func checkConfigAndSecretKeys(t *testing.T, c contract, m *manifests) {
	t.Helper()
	for _, cm := range m.configMaps {
		for k := range cm.Data {
			if !c.settings[k] {
				t.Errorf("ConfigMap %s: key %s is not a setting of docs/CONTRACT.md", cm.Name, k)
			}
		}
		for _, k := range []string{"SSEGATE_SHUTDOWN_GRACE", "SSEGATE_DRAIN_WINDOW", "SSEGATE_PING_INTERVAL", "SSEGATE_SEND_TIMEOUT", "SSEGATE_RETRY", "SSEGATE_IDEMPOTENCY_TTL"} {
			if v, ok := cm.Data[k]; ok {
				if _, err := time.ParseDuration(v); err != nil {
					t.Errorf("ConfigMap %s: %s=%q is not a duration: %v", cm.Name, k, v, err)
				}
			}
		}
		if g, d := cm.Data["SSEGATE_SHUTDOWN_GRACE"], cm.Data["SSEGATE_DRAIN_WINDOW"]; g != "" && d != "" {
			gd, _ := time.ParseDuration(g)
			dd, _ := time.ParseDuration(d)
			if dd >= gd {
				t.Errorf("ConfigMap %s: SSEGATE_DRAIN_WINDOW %s must be shorter than SSEGATE_SHUTDOWN_GRACE %s", cm.Name, d, g)
			}
		}
	}
	fileOnly := m.fileOnlySecrets()
	for _, s := range m.secrets {
		if fileOnly[s.Name] {
			continue // mounted files (certificates, passwords): any key names
		}
		for k := range secretKeys(s) {
			if !c.settings[k] {
				t.Errorf("Secret %s: key %s is not a setting of docs/CONTRACT.md", s.Name, k)
			}
		}
	}
}

// checkServices: each Service selects exactly one Deployment and targets
// ports its containers declare.
func checkServices(t *testing.T, m *manifests) {
	t.Helper()
	for _, svc := range m.services {
		t.Run(svc.Name, func(t *testing.T) {
			t.Parallel()
			if len(svc.Spec.Selector) == 0 {
				t.Fatalf("no selector")
			}
			deps := m.deploymentsSelectedBy(labels.SelectorFromSet(svc.Spec.Selector))
			if len(deps) != 1 {
				t.Fatalf("selector %v matches %d Deployments, want 1", svc.Spec.Selector, len(deps))
			}
			for _, p := range svc.Spec.Ports {
				target := p.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(p.Port)
				}
				found := false
				for _, ctr := range deps[0].Spec.Template.Spec.Containers {
					found = found || containerHasPort(ctr, target)
				}
				if !found {
					t.Errorf("port %s: targetPort %s is no container port of Deployment %s", p.Name, target.String(), deps[0].Name)
				}
			}
		})
	}
}

// checkDisruptionBudgetsAndAutoscalers: PDBs and HPAs point at one
// Deployment each; an HPA's floor equals the Deployment's replicas.
func checkDisruptionBudgetsAndAutoscalers(t *testing.T, m *manifests) {
	t.Helper()
	for _, pdb := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("PodDisruptionBudget %s: bad or empty selector: %v", pdb.Name, err)
			continue
		}
		if n := len(m.deploymentsSelectedBy(sel)); n != 1 {
			t.Errorf("PodDisruptionBudget %s: selector matches %d Deployments, want 1", pdb.Name, n)
		}
		if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
			t.Errorf("PodDisruptionBudget %s: set exactly one of minAvailable and maxUnavailable", pdb.Name)
		}
	}
	for _, hpa := range m.hpas {
		ref := hpa.Spec.ScaleTargetRef
		found := false
		for _, d := range m.deployments {
			if ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && ref.Name == d.Name {
				found = true
				if hpa.Spec.MinReplicas == nil || d.Spec.Replicas == nil || *hpa.Spec.MinReplicas != *d.Spec.Replicas {
					t.Errorf("HorizontalPodAutoscaler %s: minReplicas should equal the Deployment's replicas", hpa.Name)
				}
			}
		}
		if !found {
			t.Errorf("HorizontalPodAutoscaler %s: scaleTargetRef %s/%s %s is no Deployment here", hpa.Name, ref.APIVersion, ref.Kind, ref.Name)
		}
		if hpa.Spec.MinReplicas != nil && hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: maxReplicas < minReplicas", hpa.Name)
		}
		if len(hpa.Spec.Metrics) == 0 {
			t.Errorf("HorizontalPodAutoscaler %s: no metrics", hpa.Name)
		}
	}
}

// checkServiceMonitors: each ServiceMonitor selects Services by a named
// port serving /metrics, and their job label is one the alerts and the
// dashboard know (serviceMonitorJob).
func checkServiceMonitors(t *testing.T, m *manifests) {
	t.Helper()
	for _, sm := range m.serviceMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("ServiceMonitor %s: bad or empty selector: %v", sm.Name, err)
			continue
		}
		var matched []*corev1.Service
		for _, svc := range m.services {
			if sel.Matches(labels.Set(svc.Labels)) {
				matched = append(matched, svc)
			}
		}
		if len(matched) == 0 {
			t.Errorf("ServiceMonitor %s: selector %s matches no Service", sm.Name, sel)
		}
		if len(sm.Spec.Endpoints) == 0 {
			t.Errorf("ServiceMonitor %s: no endpoints", sm.Name)
		}
		for _, ep := range sm.Spec.Endpoints {
			if ep.Path != "" && ep.Path != "/metrics" {
				t.Errorf("ServiceMonitor %s: path %q, the services serve /metrics", sm.Name, ep.Path)
			}
			for _, d := range []string{ep.Interval, ep.ScrapeTimeout} {
				if d == "" {
					continue
				}
				if _, err := time.ParseDuration(d); err != nil {
					t.Errorf("ServiceMonitor %s: %q is not a duration", sm.Name, d)
				}
			}
			for _, svc := range matched {
				if job := serviceMonitorJob(ep, svc); !slices.Contains(alertJobs, job) {
					t.Errorf("ServiceMonitor %s: Service %s is scraped as job %q; the alerts and the dashboard know %v", sm.Name, svc.Name, job, alertJobs)
				}
				if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
					t.Errorf("ServiceMonitor %s: Service %s has no port named %q", sm.Name, svc.Name, ep.Port)
				}
			}
		}
	}
}
