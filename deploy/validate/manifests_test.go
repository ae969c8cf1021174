package validate

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// deploymentsSelectedBy returns the Deployments whose pod template labels a
// selector matches.
func (m *manifests) deploymentsSelectedBy(sel labels.Selector) []*appsv1.Deployment {
	var out []*appsv1.Deployment
	for _, d := range m.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

func (m *manifests) configMap(name string) *corev1.ConfigMap {
	for _, c := range m.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (m *manifests) secret(name string) *corev1.Secret {
	for _, s := range m.secrets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// secretKeys returns the keys a Secret defines in data or stringData.
func secretKeys(s *corev1.Secret) map[string]bool {
	keys := map[string]bool{}
	for k := range s.Data {
		keys[k] = true
	}
	for k := range s.StringData {
		keys[k] = true
	}
	return keys
}

// shutdownGrace is SSEGATE_SHUTDOWN_GRACE from the ConfigMap (or the
// contract default of 25 s).
func (m *manifests) shutdownGrace(t *testing.T) time.Duration {
	t.Helper()
	for _, c := range m.configMaps {
		if v, ok := c.Data["SSEGATE_SHUTDOWN_GRACE"]; ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("ConfigMap %s: SSEGATE_SHUTDOWN_GRACE %q: %v", c.Name, v, err)
			}
			return d
		}
	}
	return 25 * time.Second
}

// containerHasPort reports whether a target port (name or number) is
// declared by the container.
func containerHasPort(c corev1.Container, p intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal {
			return true
		}
		if p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return true
		}
	}
	return false
}

// preStopSleep is how long a container's preStop hook delays SIGTERM: a
// sleep action's seconds. An exec or httpGet hook takes an unknown time and
// is reported as an error, since the grace period cannot be checked
// against it (the images have no shell for an exec sleep anyway).
func preStopSleep(ctr corev1.Container) (time.Duration, bool) {
	if ctr.Lifecycle == nil || ctr.Lifecycle.PreStop == nil {
		return 0, true
	}
	if s := ctr.Lifecycle.PreStop.Sleep; s != nil {
		return time.Duration(s.Seconds) * time.Second, true
	}
	return 0, false
}

// secretVolumeKeys returns, for each volume of a pod that mounts a Secret,
// the Secret's name and the keys it projects (nil: all of them).
func secretVolumeKeys(spec corev1.PodSpec) map[string][]string {
	out := map[string][]string{}
	for _, v := range spec.Volumes {
		if v.Secret == nil {
			continue
		}
		keys := []string{}
		for _, it := range v.Secret.Items {
			keys = append(keys, it.Key)
		}
		out[v.Secret.SecretName] = append(out[v.Secret.SecretName], keys...)
	}
	return out
}

// deploymentByName returns the Deployment called name, or nil.
func (m *manifests) deploymentByName(name string) *appsv1.Deployment {
	for _, d := range m.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// fileOnlySecrets returns the Secrets that pods only mount as files (TLS
// material, password files) and never read into the environment: their keys
// are file names, not settings.
func (m *manifests) fileOnlySecrets() map[string]bool {
	mounted, inEnv := map[string]bool{}, map[string]bool{}
	for _, d := range m.deployments {
		spec := d.Spec.Template.Spec
		for name := range secretVolumeKeys(spec) {
			mounted[name] = true
		}
		for _, ctr := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			for _, e := range ctr.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					inEnv[e.ValueFrom.SecretKeyRef.Name] = true
				}
			}
			for _, ef := range ctr.EnvFrom {
				if ef.SecretRef != nil {
					inEnv[ef.SecretRef.Name] = true
				}
			}
		}
	}
	out := map[string]bool{}
	for name := range mounted {
		out[name] = !inEnv[name]
	}
	return out
}
