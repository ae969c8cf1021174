package validate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kubeDir holds the manifests, relative to this module.
var kubeDir = filepath.Join(repoRoot, "deploy", "kubernetes")

// kustomization is the subset of kustomize.config.k8s.io/v1beta1
// Kustomization that deploy/kubernetes uses; strict decoding rejects any
// other field, so adding one means adding it here too.
type kustomization struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Labels     []kustomizeLabels   `json:"labels,omitempty"`
	Resources  []string            `json:"resources"`
	Images     []kustomizeImageRef `json:"images,omitempty"`
}

type kustomizeLabels struct {
	Pairs            map[string]string `json:"pairs"`
	IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	IncludeTemplates bool              `json:"includeTemplates,omitempty"`
}

type kustomizeImageRef struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// serviceMonitor is the subset of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that deploy/kubernetes uses.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              serviceMonitorSpec `json:"spec"`
}

type serviceMonitorSpec struct {
	Selector  metav1.LabelSelector     `json:"selector"`
	Endpoints []serviceMonitorEndpoint `json:"endpoints"`
}

type serviceMonitorEndpoint struct {
	Port          string `json:"port"`
	Path          string `json:"path,omitempty"`
	Interval      string `json:"interval,omitempty"`
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
}

// manifest is one decoded YAML document.
type manifest struct {
	source string // file#index
	obj    any
}

// manifests groups the decoded objects by kind.
type manifests struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	serviceMonitors []*serviceMonitor
	kustomizations  []*kustomization
	// files maps every manifest file name to the objects it holds.
	files map[string][]manifest
}

// decodeStrict converts one YAML document to JSON (rejecting duplicate keys)
// and decodes it into obj with Kubernetes' own strict, case-sensitive JSON
// rules: an unknown or misspelt field is an error, as `kubectl apply
// --validate=strict` would make it.
func decodeStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	strictErrs, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("strict decode: %w", errors.Join(strictErrs...))
	}
	return nil
}

// decodeManifest decodes one document into the typed struct of its kind.
// It returns nil, nil for an empty document.
func decodeManifest(doc []byte) (any, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("type meta: %w", err)
	}
	var obj any
	switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	case "policy/v1 PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case "monitoring.coreos.com/v1 ServiceMonitor":
		obj = &serviceMonitor{}
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		obj = &kustomization{}
	default:
		return nil, fmt.Errorf("unknown kind %q (apiVersion %q): add it to decodeManifest", tm.Kind, tm.APIVersion)
	}
	if err := decodeStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(?:#.*)?$`)

// splitDocuments splits a multi-document YAML file on "---" lines.
func splitDocuments(data []byte) []string {
	return docSeparator.Split(string(data), -1)
}

// loadManifests decodes every YAML document under deploy/kubernetes.
func loadManifests(t *testing.T) manifests {
	t.Helper()
	m := manifests{files: map[string][]manifest{}}
	err := filepath.WalkDir(kubeDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return nil
		}
		rel, err := filepath.Rel(kubeDir, path)
		if err != nil {
			return fmt.Errorf("rel %s: %w", path, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		m.files[rel] = nil
		for i, doc := range splitDocuments(data) {
			obj, err := decodeManifest([]byte(doc))
			if err != nil {
				t.Errorf("%s document %d: %v", rel, i, err)
				continue
			}
			if obj == nil {
				continue
			}
			m.add(manifest{source: fmt.Sprintf("%s#%d", rel, i), obj: obj})
			m.files[rel] = append(m.files[rel], manifest{source: fmt.Sprintf("%s#%d", rel, i), obj: obj})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", kubeDir, err)
	}
	if len(m.files) == 0 {
		t.Fatalf("no manifests under %s", kubeDir)
	}
	return m
}

func (m *manifests) add(mf manifest) {
	switch o := mf.obj.(type) {
	case *appsv1.Deployment:
		m.deployments = append(m.deployments, o)
	case *corev1.Service:
		m.services = append(m.services, o)
	case *corev1.ConfigMap:
		m.configMaps = append(m.configMaps, o)
	case *corev1.Secret:
		m.secrets = append(m.secrets, o)
	case *policyv1.PodDisruptionBudget:
		m.pdbs = append(m.pdbs, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		m.hpas = append(m.hpas, o)
	case *serviceMonitor:
		m.serviceMonitors = append(m.serviceMonitors, o)
	case *kustomization:
		m.kustomizations = append(m.kustomizations, o)
	}
}

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

func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	wantKinds := []struct {
		kind string
		n    int
	}{
		{"Deployment", len(m.deployments)},
		{"Service", len(m.services)},
		{"ConfigMap", len(m.configMaps)},
		{"Secret", len(m.secrets)},
		{"PodDisruptionBudget", len(m.pdbs)},
		{"HorizontalPodAutoscaler", len(m.hpas)},
		{"ServiceMonitor", len(m.serviceMonitors)},
		{"Kustomization", len(m.kustomizations)},
	}
	for _, k := range wantKinds {
		if k.n == 0 {
			t.Errorf("no %s under deploy/kubernetes", k.kind)
		}
	}
	// Namespace-agnostic: no object pins a namespace.
	for file, objs := range m.files {
		for _, o := range objs {
			if acc, ok := o.obj.(metav1.Object); ok && acc.GetNamespace() != "" {
				t.Errorf("%s: metadata.namespace %q set; manifests must be namespace-agnostic", file, acc.GetNamespace())
			}
		}
	}
}

// TestDecodeRejects proves that the decoder is strict: each document is
// broken in one way that a lenient decoder would accept silently.
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "unknown field",
			doc:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 3\n",
			want: "unknown field",
		},
		{
			name: "field in wrong case",
			doc:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  Replicas: 3\n",
			want: "unknown field",
		},
		{
			name: "duplicate key",
			doc:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  A: b\n  A: c\n",
			want: "already set",
		},
		{
			name: "unknown kind",
			doc:  "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\n",
			want: "unknown kind",
		},
		{
			name: "old apiVersion",
			doc:  "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n",
			want: "unknown kind",
		},
		{
			name: "unknown ServiceMonitor field",
			doc:  "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  endpoints:\n  - port: http\n    intervall: 5s\n",
			want: "unknown field",
		},
		{
			name: "wrong value type",
			doc:  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: eighty\n",
			want: "decode",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeManifest([]byte(tt.doc))
			if err == nil {
				t.Fatalf("decodeManifest accepted %q", tt.doc)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestDeployments(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	m := loadManifests(t)
	grace := m.shutdownGrace(t)
	for _, d := range m.deployments {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
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
			tgps := spec.TerminationGracePeriodSeconds
			switch {
			case tgps == nil:
				t.Errorf("terminationGracePeriodSeconds not set (default 30 s)")
			case *tgps <= 30:
				t.Errorf("terminationGracePeriodSeconds %d: want > 30", *tgps)
			case time.Duration(*tgps)*time.Second <= grace:
				t.Errorf("terminationGracePeriodSeconds %d: must exceed SSEGATE_SHUTDOWN_GRACE %s", *tgps, grace)
			}
			podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
			if len(spec.Containers) == 0 {
				t.Fatalf("no containers")
			}
			for _, ctr := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				checkContainer(t, c, &m, ctr, podNonRoot)
			}
		})
	}
}

// checkContainer checks one container of a pod template.
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
	if len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: adds capabilities %v", where, sc.Capabilities.Add)
	}

	for _, e := range ctr.Env {
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
			} else if !secretKeys(s)[ref.Key] {
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

func TestConfigAndSecretKeysAreSettings(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	m := loadManifests(t)
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
	for _, s := range m.secrets {
		for k := range secretKeys(s) {
			if !c.settings[k] {
				t.Errorf("Secret %s: key %s is not a setting of docs/CONTRACT.md", s.Name, k)
			}
		}
	}
}

func TestServices(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
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

func TestDisruptionBudgetsAndAutoscalers(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
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

func TestServiceMonitors(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
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
				if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
					t.Errorf("ServiceMonitor %s: Service %s has no port named %q", sm.Name, svc.Name, ep.Port)
				}
			}
		}
	}
}

func TestKustomization(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	if len(m.kustomizations) != 1 {
		t.Fatalf("%d Kustomizations, want 1", len(m.kustomizations))
	}
	k := m.kustomizations[0]
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if listed[r] {
			t.Errorf("resource %s listed twice", r)
		}
		listed[r] = true
		if _, ok := m.files[filepath.FromSlash(r)]; !ok {
			t.Errorf("resource %s: no such manifest under deploy/kubernetes", r)
		}
	}
	var unlisted []string
	for file := range m.files {
		isExample := strings.Contains(filepath.Base(file), ".example.")
		switch {
		case filepath.Base(file) == "kustomization.yaml":
		case isExample && listed[filepath.ToSlash(file)]:
			t.Errorf("%s is an example and must not be applied by the kustomization", file)
		case !isExample && !listed[filepath.ToSlash(file)]:
			unlisted = append(unlisted, file)
		}
	}
	sort.Strings(unlisted)
	if len(unlisted) > 0 {
		t.Errorf("manifests not listed in kustomization.yaml resources: %v", unlisted)
	}
	for _, l := range k.Labels {
		if l.IncludeSelectors {
			t.Errorf("kustomization labels %v include selectors: Deployment selectors are immutable", l.Pairs)
		}
	}
	// Images named in kustomization must be images of the Deployments.
	images := map[string]bool{}
	for _, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			name, _, _ := strings.Cut(c.Image, ":")
			images[name] = true
		}
	}
	for _, img := range k.Images {
		if !images[img.Name] {
			t.Errorf("kustomization image %q is used by no Deployment", img.Name)
		}
	}
}
