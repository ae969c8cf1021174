package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubeDir holds the manifests, relative to this module.
var kubeDir = filepath.Join(repoRoot, "deploy", "kubernetes")

// loadKustomize decodes every YAML document under deploy/kubernetes
// (secret.example.yaml included, so that references to the Secret it shows
// are checked).
func loadKustomize(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{files: map[string][]manifest{}}
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
		for _, err := range m.decodeDocuments(rel, data) {
			t.Error(err)
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

// TestKustomizeInvariants runs the invariants of checkManifests on
// deploy/kubernetes.
func TestKustomizeInvariants(t *testing.T) {
	t.Parallel()
	checkManifests(t, loadContract(t), loadKustomize(t))
}

func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	m := loadKustomize(t)
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

// decodeRejectCases are documents each broken in one way that a lenient
// decoder would accept silently.
var decodeRejectCases = []struct {
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
		doc:  "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\n",
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
		name: "unknown PrometheusRule field",
		doc:  "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      expr: up == 0\n      fore: 1m\n",
		want: "unknown field",
	},
	{
		name: "unknown Ingress field",
		doc:  "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\nspec:\n  ingressClass: nginx\n",
		want: "unknown field",
	},
	{
		name: "wrong value type",
		doc:  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: eighty\n",
		want: "decode",
	},
}

// TestDecodeRejects proves that the decoder is strict: each document is
// broken in one way that a lenient decoder would accept silently.
func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range decodeRejectCases {
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

func TestKustomization(t *testing.T) {
	t.Parallel()
	m := loadKustomize(t)
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
