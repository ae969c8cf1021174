package publisher

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/test/observability/metricrules"
)

// metricsContract is every publisher metric of docs/CONTRACT.md with its
// type and label names.
var metricsContract = []struct {
	name   string
	typ    dto.MetricType
	labels []string
}{
	{"ssegate_publisher_requests_total", dto.MetricType_COUNTER, []string{"code", "endpoint"}},
	{"ssegate_publisher_validation_failures_total", dto.MetricType_COUNTER, []string{"reason"}},
	{"ssegate_publisher_publish_duration_seconds", dto.MetricType_HISTOGRAM, []string{"phase"}},
	{"ssegate_publisher_idempotent_replays_total", dto.MetricType_COUNTER, nil},
	{"ssegate_publisher_redis_errors_total", dto.MetricType_COUNTER, []string{"class"}},
	{"ssegate_publisher_events_published_total", dto.MetricType_COUNTER, []string{"endpoint"}},
}

// metricsRequest is one request of metricsTraffic.
type metricsRequest struct {
	path, contentType, body, idempotencyKey string
	want                                    int
}

// metricsTraffic exercises every label path of the publisher's metrics
// through its real handlers: both endpoints, a validation failure, a wrong
// content type, an idempotent replay and a reused Idempotency-Key (422).
var metricsTraffic = []metricsRequest{
	{"/v1/events", "application/json", `{"topic":"obs:a","data":{"n":1}}`, "", http.StatusAccepted},
	{"/publish", "application/json", `{"event_type":"TOMAR","tag_spool":"SP-1"}`, "", http.StatusAccepted},
	{"/v1/events", "application/json", `{"topic":"obs:a"}`, "", http.StatusBadRequest},
	{"/v1/events", "text/plain", `{"topic":"obs:a","data":1}`, "", http.StatusUnsupportedMediaType},
	{"/v1/events", "application/json", `{"topic":"obs:a","data":2}`, "key-1", http.StatusAccepted},
	{"/v1/events", "application/json", `{"topic":"obs:a","data":2}`, "key-1", http.StatusOK},
	{"/v1/events", "application/json", `{"topic":"obs:a","data":3}`, "key-1", http.StatusUnprocessableEntity},
}

// metricsServe runs metricsTraffic through a publisher with the real HTTP
// stack on reg and returns the gathered families.
func metricsServe(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	e := httpserver.NewEcho(httpserver.Options{Registry: reg})
	New(membroker.New(broker.HistoryConfig{}), Config{Registry: reg}).Register(e)
	for _, r := range metricsTraffic {
		req := httptest.NewRequest(http.MethodPost, r.path, strings.NewReader(r.body))
		req.Header.Set("Content-Type", r.contentType)
		if r.idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", r.idempotencyKey)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != r.want {
			t.Fatalf("POST %s %s: %d %s, want %d", r.path, r.body, rec.Code, rec.Body, r.want)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return mfs
}

func TestMetricsFollowNamingRules(t *testing.T) {
	t.Parallel()
	mfs := metricsServe(t, prometheus.NewRegistry())
	err := metricrules.Check(mfs, metricrules.Options{
		NativeHistograms: true,
	})
	if err != nil {
		t.Errorf("metric rules:\n%v", err)
	}
}

func TestMetricsMatchContract(t *testing.T) {
	t.Parallel()
	mfs := metricsServe(t, prometheus.NewRegistry())
	specs := make([]metricrules.Spec, 0, len(metricsContract))
	for _, c := range metricsContract {
		specs = append(specs, metricrules.Spec{Name: c.name, Type: c.typ, Labels: c.labels})
	}
	if err := metricrules.CheckContract(mfs, "ssegate_publisher_", specs); err != nil {
		t.Error(err)
	}
}

// TestMetricsCountTraffic checks the values metricsTraffic must produce,
// so each label path is known to be reached by the handler it names.
func TestMetricsCountTraffic(t *testing.T) {
	t.Parallel()
	mfs := metricsServe(t, prometheus.NewRegistry())
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ssegate_publisher_requests_total", map[string]string{"endpoint": "/v1/events", "code": "202"}, 2},
		{"ssegate_publisher_requests_total", map[string]string{"endpoint": "/v1/events", "code": "200"}, 1},
		{"ssegate_publisher_requests_total", map[string]string{"endpoint": "/v1/events", "code": "400"}, 1},
		{"ssegate_publisher_requests_total", map[string]string{"endpoint": "/v1/events", "code": "415"}, 1},
		{"ssegate_publisher_requests_total", map[string]string{"endpoint": "/publish", "code": "202"}, 1},
		{"ssegate_publisher_events_published_total", map[string]string{"endpoint": "/v1/events"}, 2},
		{"ssegate_publisher_events_published_total", map[string]string{"endpoint": "/publish"}, 1},
		{"ssegate_publisher_validation_failures_total", map[string]string{"reason": "missing_field"}, 1},
		{"ssegate_publisher_validation_failures_total", map[string]string{"reason": "unsupported_media_type"}, 1},
		{"ssegate_publisher_validation_failures_total", map[string]string{"reason": "idempotency_key_reused"}, 1},
		{"ssegate_publisher_requests_total", map[string]string{"endpoint": "/v1/events", "code": "422"}, 1},
		{"ssegate_publisher_idempotent_replays_total", nil, 1},
		{"ssegate_publisher_redis_errors_total", map[string]string{"class": "oom"}, 0},
		// Every request that reached the broker call observes both phases.
		{"ssegate_publisher_publish_duration_seconds", map[string]string{"phase": "validate"}, 5},
		{"ssegate_publisher_publish_duration_seconds", map[string]string{"phase": "redis"}, 5},
	} {
		if got, ok := metricsValue(mfs, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	// Nothing else is counted as a validation failure.
	var failures float64
	for _, m := range metricrules.Find(mfs, "ssegate_publisher_validation_failures_total").GetMetric() {
		failures += m.GetCounter().GetValue()
	}
	if failures != 3 {
		t.Errorf("validation failures, all reasons = %v, want 3", failures)
	}
}

// metricsValue returns a counter's value or a histogram's sample count.
func metricsValue(mfs []*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	mf := metricrules.Find(mfs, name)
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount()), true
		}
		return m.GetCounter().GetValue(), true
	}
	return 0, false
}

// TestMetricsFixedLabelValuesExistFromStart checks the series that
// NewMetrics creates at 0 so rate() has data before the first publish.
func TestMetricsFixedLabelValuesExistFromStart(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
	}{
		{"ssegate_publisher_events_published_total", map[string]string{"endpoint": "/publish"}},
		{"ssegate_publisher_events_published_total", map[string]string{"endpoint": "/v1/events"}},
		{"ssegate_publisher_publish_duration_seconds", map[string]string{"phase": "validate"}},
		{"ssegate_publisher_publish_duration_seconds", map[string]string{"phase": "redis"}},
		{"ssegate_publisher_idempotent_replays_total", nil},
		{"ssegate_publisher_redis_errors_total", map[string]string{"class": "noperm"}},
	} {
		if got, ok := metricsValue(mfs, tc.name, tc.labels); !ok || got != 0 {
			t.Errorf("%s%v = %v (found %v), want a series at 0", tc.name, tc.labels, got, ok)
		}
	}
	// Every validation failure reason, the one users hit most among them.
	for _, code := range append(validationCodes(), "field_too_long", "invalid_json") {
		labels := map[string]string{"reason": code}
		if got, ok := metricsValue(mfs, "ssegate_publisher_validation_failures_total", labels); !ok || got != 0 {
			t.Errorf("ssegate_publisher_validation_failures_total%v = %v (found %v), want a series at 0", labels, got, ok)
		}
	}
}

func TestMetricsHistogramBuckets(t *testing.T) {
	t.Parallel()
	mfs := metricsServe(t, prometheus.NewRegistry())
	mf := metricrules.Find(mfs, "ssegate_publisher_publish_duration_seconds")
	if mf == nil {
		t.Fatal("ssegate_publisher_publish_duration_seconds not gathered")
	}
	for _, m := range mf.GetMetric() {
		h := m.GetHistogram()
		if n := len(h.GetBucket()); n != 16 {
			t.Errorf("%v: %d explicit buckets, want 16 (50µs to 5s)", m.GetLabel(), n)
		}
		if b := h.GetBucket(); len(b) > 0 && (b[0].GetUpperBound() != 0.00005 || b[len(b)-1].GetUpperBound() != 5) {
			t.Errorf("%v: buckets from %v to %v, want 5e-05 to 5", m.GetLabel(), b[0].GetUpperBound(), b[len(b)-1].GetUpperBound())
		}
		if h.GetSchema() != 3 || h.Schema == nil {
			t.Errorf("%v: native schema %v, want 3 (factor 1.1)", m.GetLabel(), h.Schema)
		}
	}
}
