package publisher

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/httperr"
)

// Metrics are the publisher's Prometheus metrics. Names and meanings are
// listed in the README's operations section and docs/CONTRACT.md.
type Metrics struct {
	Requests           *prometheus.CounterVec   // ssegate_publisher_requests_total{endpoint,code}
	ValidationFailures *prometheus.CounterVec   // ssegate_publisher_validation_failures_total{reason}
	Duration           *prometheus.HistogramVec // ssegate_publisher_publish_duration_seconds{phase}
	IdempotentReplays  prometheus.Counter       // ssegate_publisher_idempotent_replays_total
	RedisErrors        *prometheus.CounterVec   // ssegate_publisher_redis_errors_total{class}
	Published          *prometheus.CounterVec   // ssegate_publisher_events_published_total{endpoint}

	validation map[string]bool // validationCodes as a set
}

// NewMetrics creates the publisher's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_publisher_requests_total", Help: "Publish requests, by endpoint and HTTP status code."}, []string{"endpoint", "code"}),
		ValidationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_publisher_validation_failures_total", Help: "Publish requests refused as invalid, by reason."}, []string{"reason"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ssegate_publisher_publish_duration_seconds", Help: "Time spent on a publish, by phase (validate: reading and checking the request; redis: the broker call).",
			Buckets:                         []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"phase"}),
		IdempotentReplays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_publisher_idempotent_replays_total", Help: "Requests answered from an earlier request with the same Idempotency-Key."}),
		RedisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_publisher_redis_errors_total", Help: "Redis commands that failed (publishes, readiness pings), by class: " + broker.ClassHelp}, []string{"class"}),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_publisher_events_published_total", Help: "Events appended to history and published, by endpoint."}, []string{"endpoint"}),
	}
	reg.MustRegister(m.Requests, m.ValidationFailures, m.Duration, m.IdempotentReplays, m.RedisErrors, m.Published)
	// Create the fixed label values up front so their series exist (at 0)
	// from the first scrape, and rate() sees 0 rather than no data.
	for _, endpoint := range []string{"/publish", "/v1/events"} {
		m.Published.WithLabelValues(endpoint)
	}
	for _, phase := range []string{"validate", "redis"} {
		m.Duration.WithLabelValues(phase)
	}
	m.validation = make(map[string]bool)
	for _, c := range broker.Classes() {
		m.RedisErrors.WithLabelValues(string(c))
	}
	for _, code := range validationCodes() {
		m.ValidationFailures.WithLabelValues(code)
		m.validation[code] = true
	}
	return m
}

// countRefusal is the publisher's httpserver.OnError hook: an error answer
// to a publish route whose code is one of validationCodes is a request
// refused as invalid, counted in ssegate_publisher_validation_failures_total
// with that code as its reason. The refusals are made where their cause is
// found (event.go, publisher.go) and counted only here, so the count cannot
// drift from the answers. Refusals of the caller (401, 403), of Redis
// (503) and of anything but a publish route are no validation failures.
func (s *Server) countRefusal(c echo.Context, answer *httperr.Error) {
	route := c.Path()
	if (route == "/publish" || route == "/v1/events") && s.metrics.validation[answer.Code] {
		s.metrics.ValidationFailures.WithLabelValues(answer.Code).Inc()
	}
}

// countRedisError counts a failed Redis command by class (the broker's
// OnError).
func (m *Metrics) countRedisError(c broker.Class) { m.RedisErrors.WithLabelValues(string(c)).Inc() }

// validationCodes are the error codes of the requests the publisher refuses
// as invalid, each a reason label of ssegate_publisher_validation_failures_total
// (a test checks that it lists every such code the package can answer).
// idempotency_key_reused (422) is one: the request is well-formed, but
// invalid with the key it carries.
func validationCodes() []string {
	return []string{
		"body_read_timeout", "body_too_large", "duplicate_idempotency_key", "duplicate_key", "event_too_large", "field_too_long",
		"idempotency_key_reused", "invalid_idempotency_key",
		"invalid_json", "invalid_key", "invalid_timestamp", "invalid_topic", "invalid_type", "missing_field",
		"number_out_of_range", "reserved_topic", "too_deep", "truncated_body", "unknown_event_type", "unknown_field",
		"unsupported_media_type", "wrong_type",
	}
}

func statusText(code int) string { return strconv.Itoa(code) }
