package metricrules

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather registers cs on a fresh registry and gathers it.
func gather(t *testing.T, cs ...prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(cs...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return mfs
}

func TestCheck(t *testing.T) {
	t.Parallel()
	goodHist := func() prometheus.Collector {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ssegate_test_duration_seconds", Help: "h", Buckets: []float64{0.1, 1},
			NativeHistogramBucketFactor: 1.1,
		})
		h.Observe(0.5)
		return h
	}
	labelled := func(name string, labels ...string) prometheus.Collector {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "c"}, labels)
		vals := make([]string, len(labels))
		for i := range vals {
			vals[i] = "x"
		}
		v.WithLabelValues(vals...).Inc()
		return v
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		metrics func() []prometheus.Collector
		wantErr string // "" = passes
	}{
		{"good set", Options{NativeHistograms: true}, func() []prometheus.Collector {
			return []prometheus.Collector{
				goodHist(),
				labelled("ssegate_test_events_total", "reason", "kind"),
				prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssegate_test_connections", Help: "g"}),
			}
		}, ""},
		{"counter without _total", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{labelled("ssegate_test_events")}
		}, "counter name must end in _total"},
		{"gauge ending in _total", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssegate_test_open_total", Help: "g"})}
		}, "gauge name must not end in _total"},
		{"histogram not in seconds", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ssegate_test_latency_ms", Help: "h"})}
		}, "must end in _seconds"},
		{"duration as a gauge", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssegate_test_fanout_duration_seconds", Help: "g"})}
		}, "durations must be histograms"},
		{"per-client label", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{labelled("ssegate_test_events_total", "client_ip")}
		}, `label "client_ip" is not in the allowlist`},
		{"topic label", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{labelled("ssegate_test_events_total", "topic")}
		}, `label "topic" is not in the allowlist`},
		{"empty help", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssegate_test_connections"})}
		}, "empty help text"},
		{"no native settings", Options{NativeHistograms: true}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ssegate_test_duration_seconds", Help: "h"})}
		}, "no native-histogram settings"},
		{"no native settings, skipped", Options{NativeHistograms: true, SkipNative: []string{"ssegate_test_duration_seconds"}}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ssegate_test_duration_seconds", Help: "h"})}
		}, ""},
		{"summary", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewSummary(prometheus.SummaryOpts{Name: "ssegate_test_duration_seconds", Help: "s"})}
		}, "unexpected type SUMMARY"},
		{"non-base unit (promlint)", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssegate_test_heap_megabytes", Help: "g"})}
		}, "promlint"},
		{"only foreign metrics", Options{}, func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewGauge(prometheus.GaugeOpts{Name: "other_metric", Help: "g"})}
		}, "no ssegate_ metric families"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(gather(t, tc.metrics()...), tc.opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected violations:\n%v", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("no violation, want %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("violations:\n%v\nwant one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ssegate_b_total", Help: "b"}, []string{"route", "code"})
	v.WithLabelValues("/x", "200").Inc()
	v.WithLabelValues("/y", "404").Inc()
	mfs := gather(t, v, prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssegate_a", Help: "a"}), prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_x", Help: "x"}))
	if got := strings.Join(Names(mfs, Prefix), ","); got != "ssegate_a,ssegate_b_total" {
		t.Errorf("Names = %s", got)
	}
	mf := Find(mfs, "ssegate_b_total")
	if mf == nil {
		t.Fatal("Find returned nil")
	}
	if got := strings.Join(LabelNames(mf), ","); got != "code,route" {
		t.Errorf("LabelNames = %s", got)
	}
	if Find(mfs, "nope") != nil {
		t.Error("Find found a missing family")
	}
}

func TestCheckContract(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ssegate_x_total", Help: "x"}, []string{"reason"})
	c.WithLabelValues("a").Inc()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "ssegate_extra", Help: "e"})
	reg.MustRegister(c, g)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counter, gauge := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	tests := []struct {
		name  string
		specs []Spec
		want  []string // substrings of the error; none = no error
	}{
		{"matches", []Spec{{"ssegate_x_total", counter, []string{"reason"}}, {"ssegate_extra", gauge, nil}}, nil},
		{"missing", []Spec{{"ssegate_x_total", counter, []string{"reason"}}, {"ssegate_extra", gauge, nil}, {"ssegate_gone", gauge, nil}}, []string{"ssegate_gone is not registered"}},
		{"wrong type", []Spec{{"ssegate_x_total", gauge, []string{"reason"}}, {"ssegate_extra", gauge, nil}}, []string{"type COUNTER, want GAUGE"}},
		{"wrong labels", []Spec{{"ssegate_x_total", counter, []string{"kind"}}, {"ssegate_extra", gauge, nil}}, []string{"labels [reason], want [kind]"}},
		{"undocumented", []Spec{{"ssegate_x_total", counter, []string{"reason"}}}, []string{"registered [ssegate_extra ssegate_x_total]"}},
	}
	for _, tt := range tests {
		err := CheckContract(mfs, "ssegate_", tt.specs)
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want it to mention %q", tt.name, err, w)
			}
		}
	}
}
