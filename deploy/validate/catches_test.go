package validate

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// recorder is a reporter that keeps the complaints of a check.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// renderCase renders the chart with the default values plus overrides
// (a values file's text) and decodes it, failing the test on any error.
func renderCase(t *testing.T, overrides string) *manifests {
	t.Helper()
	path := t.TempDir() + "/values.yaml"
	writeFile(t, path, overrides)
	return loadChart(t, chartCase{name: "override", release: "ssegate", values: []string{path}})
}

// TestChecksCatch: the leaf checks complain about charts rendered with
// values that break an invariant, so a passing check means something.
func TestChecksCatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		overrides string
		check     func(r reporter, m *manifests)
		want      string
	}{
		{
			name:      "preStop eats the grace period",
			overrides: "gateway:\n  preStopSleepSeconds: 20\n",
			check:     checkGatewayDrain,
			want:      "must exceed the preStop sleep 20s + SSEGATE_SHUTDOWN_GRACE 25s",
		},
		{
			name:      "grace raised past the pod's period",
			overrides: "gateway:\n  env:\n    SSEGATE_SHUTDOWN_GRACE: 45s\n",
			check:     checkGatewayDrain,
			want:      "must exceed the preStop sleep 0s + SSEGATE_SHUTDOWN_GRACE 45s",
		},
		{
			name:      "drain window past the grace",
			overrides: "config:\n  SSEGATE_DRAIN_WINDOW: 30s\n",
			check:     checkGatewayDrain,
			want:      "must be shorter than SSEGATE_SHUTDOWN_GRACE",
		},
		{
			name:      "read timeout below the keepalive",
			overrides: "ingress:\n  enabled: true\n  proxyReadTimeoutSeconds: 20\n",
			check:     func(r reporter, m *manifests) { checkIngresses(r, m) },
			want:      "not well above SSEGATE_PING_INTERVAL 15s",
		},
		{
			name:      "buffering turned back on",
			overrides: "ingress:\n  enabled: true\n  annotations:\n    nginx.ingress.kubernetes.io/proxy-buffering: \"on\"\n",
			check:     func(r reporter, m *manifests) { checkIngresses(r, m) },
			want:      "proxy-buffering \"on\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := renderCase(t, tt.overrides)
			var r recorder
			tt.check(&r, m)
			if !slices.ContainsFunc(r.errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("no complaint containing %q; got %q", tt.want, r.errs)
			}
		})
	}
}

// checkGatewayDrain runs checkDrainTiming on the gateway's container.
func checkGatewayDrain(r reporter, m *manifests) {
	d := m.deploymentByName("ssegate-gateway")
	if d == nil {
		r.Errorf("no Deployment ssegate-gateway")
		return
	}
	spec := d.Spec.Template.Spec
	for _, ctr := range spec.Containers {
		checkDrainTiming(r, m, spec, ctr)
	}
}
