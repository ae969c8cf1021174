package validate

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// checkManifests runs every invariant on one set of objects: the
// kustomize manifests and each rendering of the Helm chart go through this
// one function, so the two can never be held to different rules.
func checkManifests(t *testing.T, c contract, m *manifests) {
	t.Helper()
	t.Run("deployments", func(t *testing.T) { t.Parallel(); checkDeployments(t, c, m) })
	t.Run("config", func(t *testing.T) { t.Parallel(); checkConfigAndSecretKeys(t, c, m) })
	t.Run("services", func(t *testing.T) { t.Parallel(); checkServices(t, m) })
	t.Run("pdb-hpa", func(t *testing.T) { t.Parallel(); checkDisruptionBudgetsAndAutoscalers(t, m) })
	t.Run("servicemonitors", func(t *testing.T) { t.Parallel(); checkServiceMonitors(t, m) })
	t.Run("ingresses", func(t *testing.T) { t.Parallel(); checkIngresses(t, m) })
	t.Run("prometheusrules", func(t *testing.T) { t.Parallel(); checkPrometheusRules(t, c, m) })
}

// reporter is the part of *testing.T the leaf checks use, so that a test
// can run a check on broken input and see that it complains.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// containerSetting returns the value a container sees for an SSEGATE_
// setting: its own env entry first (as Kubernetes gives env precedence over
// envFrom), then the ConfigMaps it loads. ok is false when neither sets it.
func (m *manifests) containerSetting(ctr corev1.Container, name string) (string, bool) {
	for _, e := range ctr.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	for _, ef := range ctr.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm := m.configMap(ef.ConfigMapRef.Name); cm != nil {
			if v, ok := cm.Data[name]; ok {
				return v, true
			}
		}
	}
	return "", false
}

// containerDuration is containerSetting parsed as a duration, or def.
func (m *manifests) containerDuration(t reporter, ctr corev1.Container, name string, def time.Duration) time.Duration {
	t.Helper()
	v, ok := m.containerSetting(ctr, name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Errorf("container %s: %s=%q is not a duration: %v", ctr.Name, name, v, err)
		return def
	}
	return d
}

func checkDeployments(t *testing.T, c contract, m *manifests) {
	t.Helper()
	if len(m.deployments) == 0 {
		t.Fatalf("no Deployments")
	}
	for _, d := range m.deployments {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			checkDeployment(t, c, m, d)
		})
	}
}

// checkDeployment checks one Deployment: selector, replicas, hardening and
// the drain timing (see docs/deployment.md, "Graceful shutdown").
func checkDeployment(t *testing.T, c contract, m *manifests, d *appsv1.Deployment) {
	t.Helper()
	spec := d.Spec.Template.Spec
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatalf("selector %v: %v (empty: %v)", d.Spec.Selector, err, sel == nil || sel.Empty())
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %s does not match template labels %v", sel, d.Spec.Template.Labels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %v: want at least 2 for availability", d.Spec.Replicas)
	}
	if len(spec.Containers) == 0 {
		t.Fatalf("no containers")
	}
	podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	for _, ctr := range spec.Containers {
		checkDrainTiming(t, m, spec, ctr)
	}
	for _, ctr := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		checkContainer(t, c, m, ctr, podNonRoot)
	}
	checkSecretVolumes(t, m, spec)
}

// checkDrainTiming: Kubernetes sends SIGKILL terminationGracePeriodSeconds
// after the pod starts terminating, preStop included. The container gets
// SIGTERM after its preStop sleep and exits at the latest
// SSEGATE_SHUTDOWN_GRACE later, so the period must exceed both together; the
// drain window must end before the grace does.
func checkDrainTiming(t reporter, m *manifests, spec corev1.PodSpec, ctr corev1.Container) {
	t.Helper()
	where := "container " + ctr.Name
	grace := m.containerDuration(t, ctr, "SSEGATE_SHUTDOWN_GRACE", 25*time.Second)
	drain := m.containerDuration(t, ctr, "SSEGATE_DRAIN_WINDOW", 10*time.Second)
	if drain >= grace {
		t.Errorf("%s: SSEGATE_DRAIN_WINDOW %s must be shorter than SSEGATE_SHUTDOWN_GRACE %s", where, drain, grace)
	}
	preStop, ok := preStopSleep(ctr)
	if !ok {
		t.Errorf("%s: preStop hook is not a sleep action: its length cannot be checked against the grace period", where)
	}
	tgps := spec.TerminationGracePeriodSeconds
	switch {
	case tgps == nil:
		t.Errorf("terminationGracePeriodSeconds not set (default 30 s)")
	case *tgps <= 30:
		t.Errorf("terminationGracePeriodSeconds %d: want > 30", *tgps)
	case time.Duration(*tgps)*time.Second <= preStop+grace:
		t.Errorf("terminationGracePeriodSeconds %d: must exceed the preStop sleep %s + SSEGATE_SHUTDOWN_GRACE %s of %s",
			*tgps, preStop, grace, where)
	}
}
