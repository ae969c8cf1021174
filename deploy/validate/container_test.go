package validate

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// checkContainer checks one container of a pod template: probes, resources,
// hardening, then its settings (checkContainerEnv).
func checkContainer(t *testing.T, c contract, m *manifests, ctr corev1.Container, podNonRoot bool) {
	t.Helper()
	where := "container " + ctr.Name
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readinessProbe", ctr.ReadinessProbe, "/readyz"},
		{"livenessProbe", ctr.LivenessProbe, "/healthz"},
	}
	for _, p := range probes {
		switch {
		case p.probe == nil:
			t.Errorf("%s: no %s", where, p.name)
		case p.probe.HTTPGet == nil:
			t.Errorf("%s: %s is not an httpGet probe", where, p.name)
		default:
			if p.probe.HTTPGet.Path != p.path {
				t.Errorf("%s: %s path %q, want %q", where, p.name, p.probe.HTTPGet.Path, p.path)
			}
			if !containerHasPort(ctr, p.probe.HTTPGet.Port) {
				t.Errorf("%s: %s port %s is not a container port", where, p.name, p.probe.HTTPGet.Port.String())
			}
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := ctr.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("%s: no resources.requests.%s", where, r)
		}
	}
	if q, ok := ctr.Resources.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
		t.Errorf("%s: no resources.limits.memory", where)
	}
	checkContainerSecurity(t, ctr, podNonRoot)
	checkContainerEnv(t, c, m, ctr)
}

// checkContainerSecurity: non-root, read-only root file system, no
// privilege escalation, no capabilities.
func checkContainerSecurity(t *testing.T, ctr corev1.Container, podNonRoot bool) {
	t.Helper()
	where := "container " + ctr.Name
	sc := ctr.SecurityContext
	if sc == nil {
		t.Errorf("%s: no securityContext", where)
		return
	}
	if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
		t.Errorf("%s: runAsNonRoot not set on pod or container", where)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s: capabilities.drop does not contain ALL", where)
	}
	if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: adds capabilities %v", where, sc.Capabilities.Add)
	}
}

// checkContainerEnv: every variable is a setting of docs/CONTRACT.md, and
// every Secret or ConfigMap key it refers to exists.
func checkContainerEnv(t *testing.T, c contract, m *manifests, ctr corev1.Container) {
	t.Helper()
	where := "container " + ctr.Name
	seen := map[string]bool{}
	for _, e := range ctr.Env {
		if seen[e.Name] {
			t.Errorf("%s: env %s set twice", where, e.Name)
		}
		seen[e.Name] = true
		if !c.settings[e.Name] {
			t.Errorf("%s: env %s is not a setting of docs/CONTRACT.md", where, e.Name)
		}
		if e.ValueFrom == nil {
			continue
		}
		if ref := e.ValueFrom.SecretKeyRef; ref != nil {
			s := m.secret(ref.Name)
			if s == nil {
				t.Errorf("%s: env %s refers to Secret %q, which no manifest (or example) defines", where, e.Name, ref.Name)
			} else if !secretKeys(s)[ref.Key] && (ref.Optional == nil || !*ref.Optional) {
				t.Errorf("%s: env %s refers to key %q missing from Secret %q", where, e.Name, ref.Key, ref.Name)
			}
		}
		if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
			cm := m.configMap(ref.Name)
			if cm == nil {
				t.Errorf("%s: env %s refers to unknown ConfigMap %q", where, e.Name, ref.Name)
			} else if _, ok := cm.Data[ref.Key]; !ok {
				t.Errorf("%s: env %s refers to key %q missing from ConfigMap %q", where, e.Name, ref.Key, ref.Name)
			}
		}
	}
	for _, ef := range ctr.EnvFrom {
		if ef.Prefix != "" {
			t.Errorf("%s: envFrom prefix %q would rename settings", where, ef.Prefix)
		}
		if ef.ConfigMapRef != nil && m.configMap(ef.ConfigMapRef.Name) == nil {
			t.Errorf("%s: envFrom refers to unknown ConfigMap %q", where, ef.ConfigMapRef.Name)
		}
		if ef.SecretRef != nil && m.secret(ef.SecretRef.Name) == nil {
			t.Errorf("%s: envFrom refers to unknown Secret %q", where, ef.SecretRef.Name)
		}
	}
}

// checkSecretVolumes: every Secret a pod mounts is defined (by a manifest
// or an example) and holds the keys the volume projects.
func checkSecretVolumes(t *testing.T, m *manifests, spec corev1.PodSpec) {
	t.Helper()
	for name, keys := range secretVolumeKeys(spec) {
		s := m.secret(name)
		if s == nil {
			t.Errorf("volume of Secret %q, which no manifest (or example) defines", name)
			continue
		}
		for _, k := range keys {
			if !secretKeys(s)[k] {
				t.Errorf("volume projects key %q missing from Secret %q", k, name)
			}
		}
	}
}
