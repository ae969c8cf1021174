package gateway

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/test/observability/metricrules"
)

// metricsContract is every gateway metric of docs/CONTRACT.md with its type,
// label and documented label values.
var metricsContract = []struct {
	name   string
	typ    dto.MetricType
	label  string
	values []string
}{
	{"ssegate_gateway_connections", dto.MetricType_GAUGE, "", nil},
	{"ssegate_gateway_connections_opened_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_connections_closed_total", dto.MetricType_COUNTER, "reason", []string{"normal", "slow", "send_timeout", "shutdown", "auth_expired", "error"}},
	{"ssegate_gateway_connections_rejected_total", dto.MetricType_COUNTER, "reason", []string{
		"host_not_allowed", "origin_not_allowed", "invalid_query", "unknown_parameter", "invalid_topic", "reserved_topic", "headers_too_large",
		"missing_token", "invalid_token", "forbidden_topic",
		"draining", "redis_unavailable", "redis_misconfigured", "too_many_connections", "too_many_connections_from_ip", "connect_rate_exceeded", "internal"}},
	{"ssegate_gateway_events_received_total", dto.MetricType_COUNTER, "kind", []string{"envelope", "raw"}},
	{"ssegate_gateway_events_delivered_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_events_replayed_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_resets_sent_total", dto.MetricType_COUNTER, "reason", []string{"trimmed", "malformed", "unknown_stream"}},
	{"ssegate_gateway_clients_evicted_total", dto.MetricType_COUNTER, "reason", []string{"queue_full", "send_timeout"}},
	{"ssegate_gateway_queue_dropped_events_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_fanout_duration_seconds", dto.MetricType_HISTOGRAM, "", nil},
	{"ssegate_gateway_delivery_latency_seconds", dto.MetricType_HISTOGRAM, "", nil},
	{"ssegate_gateway_redis_subscription_up", dto.MetricType_GAUGE, "", nil},
	{"ssegate_gateway_redis_resubscriptions_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_backfilled_events_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_topics", dto.MetricType_GAUGE, "", nil},
	{"ssegate_gateway_window_hits_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_window_misses_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_window_bytes", dto.MetricType_GAUGE, "", nil},
	{"ssegate_gateway_replay_reads_total", dto.MetricType_COUNTER, "", nil},
	{"ssegate_gateway_replay_reads_waiting", dto.MetricType_GAUGE, "", nil},
	{"ssegate_gateway_redis_errors_total", dto.MetricType_COUNTER, "class", []string{"connection", "timeout", "oom", "readonly", "busy", "loading",
		"masterdown", "noreplicas", "clusterdown", "tryagain", "noperm", "wrongpass", "noscript", "other"}},
}

// metricsGather gathers reg or fails the test.
func metricsGather(t *testing.T, reg prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return mfs
}

// metricsExercise touches every series of m once: each labelled counter
// with every documented label value, each histogram with one observation.
func metricsExercise(m *Metrics) {
	vecs := map[string]*prometheus.CounterVec{
		"ssegate_gateway_connections_closed_total":   m.ConnectionsClosed,
		"ssegate_gateway_connections_rejected_total": m.Rejected,
		"ssegate_gateway_events_received_total":      m.Received,
		"ssegate_gateway_resets_sent_total":          m.Resets,
		"ssegate_gateway_clients_evicted_total":      m.Evicted,
		"ssegate_gateway_redis_errors_total":         m.RedisErrors,
	}
	for _, c := range metricsContract {
		for _, v := range c.values {
			vecs[c.name].WithLabelValues(v).Inc()
		}
	}
	m.Connections.Inc()
	m.ConnectionsOpened.Inc()
	m.Delivered.Inc()
	m.Replayed.Inc()
	m.QueueDropped.Inc()
	m.Resubscriptions.Inc()
	m.Backfilled.Inc()
	m.Topics.Inc()
	m.FanoutDuration.Observe(0.0002)
	m.DeliveryLatency.Observe(0.003)
}

func TestMetricsFollowNamingRules(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	metricsExercise(NewMetrics(reg, func() bool { return true }))
	mfs := metricsGather(t, reg)
	if err := metricrules.Check(mfs, metricrules.Options{NativeHistograms: true}); err != nil {
		t.Errorf("metric rules:\n%v", err)
	}
}

func TestMetricsMatchContract(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	metricsExercise(NewMetrics(reg, func() bool { return true }))
	mfs := metricsGather(t, reg)
	specs := make([]metricrules.Spec, 0, len(metricsContract))
	for _, c := range metricsContract {
		spec := metricrules.Spec{Name: c.name, Type: c.typ}
		if c.label != "" {
			spec.Labels = []string{c.label}
		}
		specs = append(specs, spec)
	}
	if err := metricrules.CheckContract(mfs, "ssegate_", specs); err != nil {
		t.Error(err)
	}
}

// TestMetricsLabelValuesExistFromStart checks that the documented label
// values are created at 0 by NewMetrics, so rate() in alerts and dashboards
// has a series before the first event of each kind.
func TestMetricsLabelValuesExistFromStart(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	NewMetrics(reg, func() bool { return true })
	mfs := metricsGather(t, reg)
	for _, c := range metricsContract {
		if c.label == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			mf := metricrules.Find(mfs, c.name)
			if mf == nil {
				t.Fatalf("%s has no series before use", c.name)
			}
			var got []string
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					got = append(got, l.GetValue())
				}
				if v := m.GetCounter().GetValue(); v != 0 {
					t.Errorf("%v starts at %v, want 0", m.GetLabel(), v)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(c.values))
			if !slices.Equal(got, want) {
				t.Errorf("label values %v, want %v", got, want)
			}
		})
	}
}

func TestMetricsHistogramBuckets(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	metricsExercise(NewMetrics(reg, func() bool { return true }))
	mfs := metricsGather(t, reg)
	for _, name := range []string{"ssegate_gateway_fanout_duration_seconds", "ssegate_gateway_delivery_latency_seconds"} {
		t.Run(name, func(t *testing.T) {
			mf := metricrules.Find(mfs, name)
			if mf == nil || len(mf.GetMetric()) != 1 {
				t.Fatalf("%s: want one histogram series, got %v", name, mf)
			}
			h := mf.GetMetric()[0].GetHistogram()
			var bounds []float64
			for _, b := range h.GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			if !slices.Equal(bounds, latencyBuckets) {
				t.Errorf("explicit buckets %v, want %v", bounds, latencyBuckets)
			}
			// Factor 1.1 gives schema 3 (factor 2^(2^-3) ≈ 1.09).
			if h.Schema == nil || h.GetSchema() != 3 {
				t.Errorf("native schema %v, want 3", h.Schema)
			}
			if h.GetSampleCount() != 1 {
				t.Errorf("sample count %d, want 1", h.GetSampleCount())
			}
		})
	}
}

func TestMetricsSubscriptionUpReadsHealthAtScrape(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	reg := prometheus.NewRegistry()
	NewMetrics(reg, healthy.Load)
	for _, tc := range []struct {
		healthy bool
		want    float64
	}{{true, 1}, {false, 0}, {true, 1}} {
		healthy.Store(tc.healthy)
		mf := metricrules.Find(metricsGather(t, reg), "ssegate_gateway_redis_subscription_up")
		if mf == nil {
			t.Fatal("ssegate_gateway_redis_subscription_up not gathered")
		}
		if got := mf.GetMetric()[0].GetGauge().GetValue(); got != tc.want {
			t.Errorf("healthy=%v: gauge %v, want %v", tc.healthy, got, tc.want)
		}
	}
}

// TestMetricsServerRegistersOnlyGatewayMetrics checks that New registers
// the gateway's metrics on the configured registry and nothing else.
func TestMetricsServerRegistersOnlyGatewayMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := New(membroker.New(broker.HistoryConfig{}), Config{Registry: reg})
	if s.Metrics() == nil {
		t.Fatal("Metrics() is nil")
	}
	var want []string
	for _, c := range metricsContract {
		want = append(want, c.name)
	}
	slices.Sort(want)
	if got := metricrules.Names(metricsGather(t, reg), ""); !slices.Equal(got, want) {
		t.Errorf("registered %v\nwant %v", got, want)
	}
}
