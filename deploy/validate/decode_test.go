package validate

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

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
	// Relabelings rewrite target labels before the scrape (the chart sets
	// the job label with one).
	Relabelings []relabelConfig `json:"relabelings,omitempty"`
}

// relabelConfig is the subset of the Prometheus Operator RelabelConfig that
// the chart uses.
type relabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    string   `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// prometheusRule is the subset of the Prometheus Operator's
// monitoring.coreos.com/v1 PrometheusRule that the chart uses; its spec has
// the shape of a Prometheus rule file.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ruleFile `json:"spec"`
}

// ruleFile is a Prometheus rule file: groups of alerting and recording
// rules.
type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Alert         string            `json:"alert,omitempty"`
	Record        string            `json:"record,omitempty"`
	Expr          string            `json:"expr"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
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
	prometheusRules []*prometheusRule
	ingresses       []*networkingv1.Ingress
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
	case "monitoring.coreos.com/v1 PrometheusRule":
		obj = &prometheusRule{}
	case "networking.k8s.io/v1 Ingress":
		obj = &networkingv1.Ingress{}
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

// decodeDocuments decodes every document of one multi-document YAML file
// into m, naming each source name#index. It returns one error per document
// that does not decode.
func (m *manifests) decodeDocuments(name string, data []byte) []error {
	var errs []error
	m.files[name] = nil
	for i, doc := range splitDocuments(data) {
		obj, err := decodeManifest([]byte(doc))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s document %d: %w", name, i, err))
			continue
		}
		if obj == nil {
			continue
		}
		mf := manifest{source: fmt.Sprintf("%s#%d", name, i), obj: obj}
		m.add(mf)
		m.files[name] = append(m.files[name], mf)
	}
	return errs
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
	case *prometheusRule:
		m.prometheusRules = append(m.prometheusRules, o)
	case *networkingv1.Ingress:
		m.ingresses = append(m.ingresses, o)
	case *kustomization:
		m.kustomizations = append(m.kustomizations, o)
	}
}
