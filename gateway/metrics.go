package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
)

// latencyBuckets cover what a fan-out or delivery can take, from tens of
// microseconds on an idle process to seconds when a client is far behind.
var latencyBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// Metrics are the gateway's Prometheus metrics. Names and meanings are
// listed in the README's operations section and docs/CONTRACT.md.
type Metrics struct {
	Connections       prometheus.Gauge       // ssegate_gateway_connections
	ConnectionsOpened prometheus.Counter     // ssegate_gateway_connections_opened_total
	ConnectionsClosed *prometheus.CounterVec // ssegate_gateway_connections_closed_total{reason}
	Rejected          *prometheus.CounterVec // ssegate_gateway_connections_rejected_total{reason}
	Received          *prometheus.CounterVec // ssegate_gateway_events_received_total{kind}
	Delivered         prometheus.Counter     // ssegate_gateway_events_delivered_total
	Replayed          prometheus.Counter     // ssegate_gateway_events_replayed_total
	Resets            *prometheus.CounterVec // ssegate_gateway_resets_sent_total{reason}
	Evicted           *prometheus.CounterVec // ssegate_gateway_clients_evicted_total{reason}
	QueueDropped      prometheus.Counter     // ssegate_gateway_queue_dropped_events_total
	FanoutDuration    prometheus.Histogram   // ssegate_gateway_fanout_duration_seconds
	DeliveryLatency   prometheus.Histogram   // ssegate_gateway_delivery_latency_seconds
	SubscriptionUp    prometheus.GaugeFunc   // ssegate_gateway_redis_subscription_up
	Resubscriptions   prometheus.Counter     // ssegate_gateway_redis_resubscriptions_total
	Backfilled        prometheus.Counter     // ssegate_gateway_backfilled_events_total
	Topics            prometheus.Gauge       // ssegate_gateway_topics
	RedisErrors       *prometheus.CounterVec // ssegate_gateway_redis_errors_total{class}
	ReplayMetrics                            // resumes: window and shared reads (metrics_replay.go)
}

// NewMetrics creates the gateway's metrics and registers them with reg.
// healthy backs the subscription gauge, read at scrape time.
func NewMetrics(reg prometheus.Registerer, healthy func() bool) *Metrics {
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: name, Help: help, Buckets: latencyBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		})
	}
	m := &Metrics{
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ssegate_gateway_connections", Help: "Open SSE streams."}),
		ConnectionsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_connections_opened_total", Help: "SSE streams opened."}),
		ConnectionsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_gateway_connections_closed_total", Help: "SSE streams closed, by reason (normal, slow, send_timeout, shutdown, auth_expired, error)."}, []string{"reason"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_gateway_connections_rejected_total", Help: "Stream requests refused before the stream started, by reason: the error code of the answer (invalid_topic, missing_token, origin_not_allowed, too_many_connections, redis_unavailable, …)."}, []string{"reason"}),
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_gateway_events_received_total", Help: "Messages received from the broker, by kind (envelope: published through the publisher; raw: legacy PUBLISH)."}, []string{"kind"}),
		Delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_events_delivered_total", Help: "Events written to clients, live and replayed."}),
		Replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_events_replayed_total", Help: "Events written to clients from history on resume."}),
		Resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_gateway_resets_sent_total", Help: "Reset events sent because a Last-Event-ID could not be resumed, by reason (trimmed, malformed, unknown_stream)."}, []string{"reason"}),
		Evicted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_gateway_clients_evicted_total", Help: "Clients disconnected for not keeping up, by reason (queue_full, send_timeout)."}, []string{"reason"}),
		QueueDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_queue_dropped_events_total", Help: "Events a slow client missed: what its full queue held when it overflowed, the event that overflowed it, the batch whose write the overflow cut short, and what arrived until it left. The client is evicted and recovers them by id on reconnect."}),
		FanoutDuration: hist("ssegate_gateway_fanout_duration_seconds",
			"Time from a message's arrival to its being queued for every local client."),
		DeliveryLatency: hist("ssegate_gateway_delivery_latency_seconds",
			"Time from the publisher accepting an event to its being written to a client."),
		SubscriptionUp: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ssegate_gateway_redis_subscription_up", Help: "1 when the broker subscription is healthy, else 0."},
			func() float64 {
				if healthy() {
					return 1
				}
				return 0
			}),
		Resubscriptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_redis_resubscriptions_total", Help: "Topic subscriptions re-established after the subscription connection was lost."}),
		Backfilled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_backfilled_events_total", Help: "Events recovered from history after a re-subscription."}),
		Topics: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ssegate_gateway_topics", Help: "Topics this process is subscribed to."}),
		RedisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssegate_gateway_redis_errors_total", Help: "Redis reads that failed (new topic position, resume, backfill), by class: " + broker.ClassHelp}, []string{"class"}),
	}
	reg.MustRegister(m.Connections, m.ConnectionsOpened, m.ConnectionsClosed, m.Rejected, m.Received,
		m.Delivered, m.Replayed, m.Resets, m.Evicted, m.QueueDropped, m.FanoutDuration, m.DeliveryLatency,
		m.SubscriptionUp, m.Resubscriptions, m.Backfilled, m.Topics, m.RedisErrors)
	m.ReplayMetrics = newReplayMetrics(reg)
	m.initLabels()
	return m
}

// initLabels creates the known label values up front, so each series
// exists (at 0) from the first scrape: rate() and increase() in the alerts
// and the dashboard then see 0 rather than no data before the first event
// of a kind. Other values may still appear later.
func (m *Metrics) initLabels() {
	for _, init := range []struct {
		vec    *prometheus.CounterVec
		values []string
	}{
		{m.ConnectionsClosed, []string{reasonNormal, reasonSlow, reasonSendTimeout, reasonShutdown, reasonAuthExpired, reasonError}},
		{m.Rejected, rejectedCodes()},
		{m.Received, []string{"envelope", "raw"}},
		{m.Resets, []string{"trimmed", "malformed", "unknown_stream"}},
		{m.Evicted, []string{"queue_full", "send_timeout"}},
		{m.RedisErrors, classNames()},
	} {
		for _, v := range init.values {
			init.vec.WithLabelValues(v)
		}
	}
}

// classNames are the class labels of ssegate_gateway_redis_errors_total.
func classNames() []string {
	var out []string
	for _, c := range broker.Classes() {
		out = append(out, string(c))
	}
	return out
}

// countRedisError counts a failed Redis read by class (the broker's
// OnError).
func (m *Metrics) countRedisError(c broker.Class) { m.RedisErrors.WithLabelValues(string(c)).Inc() }
