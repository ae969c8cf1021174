package publisher

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the publisher's Prometheus metrics.
type Metrics struct {
	Requests           *prometheus.CounterVec
	ValidationFailures *prometheus.CounterVec
	Duration           *prometheus.HistogramVec
	IdempotentReplays  prometheus.Counter
	RedisErrors        prometheus.Counter
	Published          *prometheus.CounterVec
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
		RedisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_publisher_redis_errors_total", Help: "Broker calls that failed."}),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_publisher_events_published_total", Help: "Events appended to history and published, by endpoint."}, []string{"endpoint"}),
	}
	reg.MustRegister(m.Requests, m.ValidationFailures, m.Duration, m.IdempotentReplays, m.RedisErrors, m.Published)
	return m
}

func statusText(code int) string { return strconv.Itoa(code) }
