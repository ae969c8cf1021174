// Package metricrules checks ssegate's Prometheus metrics against the rules
// every service follows, so each package's tests and the end-to-end tests
// apply the same rules to the same gathered families:
//
//   - every metric has help text and passes client_golang's promlint (the
//     Prometheus naming conventions: snake_case, base units, no type in the
//     name, counters end in _total);
//   - durations are histograms in seconds (name ends in _seconds);
//   - gauges do not end in _total;
//   - label names come from a small allowlist of bounded dimensions (see
//     AllowedLabels): never a client address, connection id, topic or URL,
//     which would give every client its own time series;
//   - histograms have explicit (classic) buckets, which the dashboard and the
//     alerts query as _bucket series, and, where asked, native-histogram
//     settings as well, so a Prometheus with native histograms enabled gets
//     high-resolution buckets without losing the classic ones.
//
// See https://prometheus.io/docs/practices/naming/ and
// https://prometheus.io/docs/practices/instrumentation/#do-not-overuse-labels.
package metricrules

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

// Prefix is the namespace of ssegate's own metrics; families without it
// (the Go and process collectors) are not ssegate's to name.
const Prefix = "ssegate_"

// AllowedLabels returns the label names ssegate's metrics may use. Each has
// a small, fixed set of values chosen by the code (a reason, a kind, a route
// pattern, a status code, an endpoint, a phase, a Redis error class), never
// by a client.
func AllowedLabels() []string {
	return []string{"reason", "kind", "route", "code", "endpoint", "phase", "class"}
}

// Options select the optional checks of Check.
type Options struct {
	// NativeHistograms requires every histogram to have native-histogram
	// settings besides its explicit buckets.
	NativeHistograms bool
	// Skip names families that are not checked for native histograms
	// (known gaps, each with a reason at the call site).
	SkipNative []string
}

// Check applies the rules to the ssegate_ families in mfs and returns every
// violation, one error per problem (nil when all pass).
func Check(mfs []*dto.MetricFamily, opts Options) error {
	var own []*dto.MetricFamily
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), Prefix) {
			own = append(own, mf)
		}
	}
	if len(own) == 0 {
		return errors.New("no " + Prefix + " metric families gathered")
	}
	var errs []error
	problems, err := promlint.NewWithMetricFamilies(own).Lint()
	if err != nil {
		errs = append(errs, fmt.Errorf("promlint: %w", err))
	}
	for _, p := range problems {
		errs = append(errs, fmt.Errorf("%s: promlint: %s", p.Metric, p.Text))
	}
	for _, mf := range own {
		errs = append(errs, checkFamily(mf, opts)...)
	}
	return errors.Join(errs...)
}

// checkFamily applies the rules of one family: help text, the name's
// suffix for its type, durations as histograms, allowed labels.
func checkFamily(mf *dto.MetricFamily, opts Options) []error {
	var errs []error
	name := mf.GetName()
	if strings.TrimSpace(mf.GetHelp()) == "" {
		errs = append(errs, fmt.Errorf("%s: empty help text", name))
	}
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		if !strings.HasSuffix(name, "_total") {
			errs = append(errs, fmt.Errorf("%s: counter name must end in _total", name))
		}
	case dto.MetricType_GAUGE:
		if strings.HasSuffix(name, "_total") {
			errs = append(errs, fmt.Errorf("%s: gauge name must not end in _total", name))
		}
	case dto.MetricType_HISTOGRAM:
		if !strings.HasSuffix(name, "_seconds") {
			errs = append(errs, fmt.Errorf("%s: ssegate histograms are durations: name must end in _seconds", name))
		}
		native := opts.NativeHistograms && !slices.Contains(opts.SkipNative, name)
		errs = append(errs, checkHistogram(mf, native)...)
	default:
		errs = append(errs, fmt.Errorf("%s: unexpected type %s (ssegate uses counters, gauges and histograms)", name, mf.GetType()))
	}
	if (strings.Contains(name, "duration") || strings.Contains(name, "latency")) && mf.GetType() != dto.MetricType_HISTOGRAM {
		errs = append(errs, fmt.Errorf("%s: durations must be histograms", name))
	}
	return append(errs, checkLabels(mf)...)
}

// checkLabels reports every label name of mf outside AllowedLabels.
func checkLabels(mf *dto.MetricFamily) []error {
	var errs []error
	allowed := AllowedLabels()
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !slices.Contains(allowed, l.GetName()) {
				errs = append(errs, fmt.Errorf("%s: label %q is not in the allowlist %v", mf.GetName(), l.GetName(), allowed))
			}
		}
	}
	return errs
}

// checkHistogram checks that every series of a histogram family has
// explicit buckets and, when native is set, native-histogram settings.
func checkHistogram(mf *dto.MetricFamily, native bool) []error {
	var errs []error
	for _, m := range mf.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			errs = append(errs, fmt.Errorf("%s: histogram series without histogram data", mf.GetName()))
			continue
		}
		if len(h.GetBucket()) == 0 {
			errs = append(errs, fmt.Errorf("%s%s: no explicit buckets", mf.GetName(), labels(m)))
		}
		// client_golang sets Schema (and ZeroThreshold) only on histograms
		// created with NativeHistogramBucketFactor > 1.
		if native && (h.Schema == nil || h.ZeroThreshold == nil) {
			errs = append(errs, fmt.Errorf("%s%s: no native-histogram settings (NativeHistogramBucketFactor)", mf.GetName(), labels(m)))
		}
	}
	return errs
}

func labels(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// Find returns the family called name, or nil.
func Find(mfs []*dto.MetricFamily, name string) *dto.MetricFamily {
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// Names returns the sorted names of the families in mfs that start with
// prefix.
func Names(mfs []*dto.MetricFamily, prefix string) []string {
	var out []string
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), prefix) {
			out = append(out, mf.GetName())
		}
	}
	slices.Sort(out)
	return out
}

// LabelNames returns the sorted, de-duplicated label names used by the
// series of mf.
func LabelNames(mf *dto.MetricFamily) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !slices.Contains(out, l.GetName()) {
				out = append(out, l.GetName())
			}
		}
	}
	slices.Sort(out)
	return out
}

// Spec is one metric a service promises in docs/CONTRACT.md: its name,
// type and label names (sorted).
type Spec struct {
	Name   string
	Type   dto.MetricType
	Labels []string
}

// CheckContract reports every spec that is missing from mfs, has another
// type or other label names, and every registered metric under prefix that
// no spec names, so a service and its contract cannot drift apart.
func CheckContract(mfs []*dto.MetricFamily, prefix string, specs []Spec) error {
	var errs []error
	want := make([]string, 0, len(specs))
	for _, s := range specs {
		want = append(want, s.Name)
		mf := Find(mfs, s.Name)
		switch {
		case mf == nil:
			errs = append(errs, fmt.Errorf("%s is not registered", s.Name))
			continue
		case mf.GetType() != s.Type:
			errs = append(errs, fmt.Errorf("%s: type %s, want %s", s.Name, mf.GetType(), s.Type))
		}
		if got := LabelNames(mf); !slices.Equal(got, s.Labels) {
			errs = append(errs, fmt.Errorf("%s: labels %v, want %v", s.Name, got, s.Labels))
		}
	}
	slices.Sort(want)
	if got := Names(mfs, prefix); !slices.Equal(got, want) {
		errs = append(errs, fmt.Errorf("registered %v\nwant (docs/CONTRACT.md) %v", got, want))
	}
	return errors.Join(errs...)
}
