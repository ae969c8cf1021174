//go:build linux

package observability

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// Job names as in deploy/prometheus/prometheus.yml, so the queries below
// are the ones the alerts and the dashboard run.
const (
	gatewayJob   = "ssegate-gateway"
	publisherJob = "ssegate-publisher"
)

// TestPrometheusScrapesBothServices runs the real gateway and publisher on
// a real Redis, scraped every second by a real Prometheus, and checks the
// numbers Prometheus stored against the traffic the test made: 25 streams,
// 40 published events, 25 × 40 deliveries.
func TestPrometheusScrapesBothServices(t *testing.T) {
	const (
		streams = 25
		events  = 40
		topic   = "obs:prometheus"
	)
	redis := redistest.Start(t)
	gw := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: redis.URL()})
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
	// Started now, because its first scrape comes about 5 s after start
	// (the scrape manager applies targets on a 5 s tick): the streams open
	// meanwhile.
	prom := startPrometheus(t, []scrapeJob{
		{Name: gatewayJob, Target: hostPort(t, gw.URL)},
		{Name: publisherJob, Target: hostPort(t, pub.URL)},
	})

	subs := make([]*harness.Stream, streams)
	for i := range subs {
		subs[i] = harness.Subscribe(t, gw.URL+"/api/sse/stream?topic="+url.QueryEscape(topic), nil)
	}

	const wait = 20 * time.Second
	for _, job := range []string{gatewayJob, publisherJob} {
		prom.waitValue(t, wait, fmt.Sprintf(`up{job=%q}`, job), 1)
	}
	// A scrape with every stream open and nothing delivered yet, so the
	// counters below have a zero sample before the traffic and rate()
	// over them sees the increase.
	prom.waitValue(t, wait, fmt.Sprintf(`ssegate_gateway_connections{job=%q}`, gatewayJob), streams)
	prom.waitValue(t, wait, fmt.Sprintf(`ssegate_gateway_events_delivered_total{job=%q}`, gatewayJob), 0)

	for i := range events {
		r := harness.PublishEvent(t, pub.URL, topic, map[string]int{"n": i})
		if r.Receivers != 1 {
			t.Fatalf("publish %d: %d receivers, want 1 (the gateway)", i, r.Receivers)
		}
	}
	for i, s := range subs {
		for n := range events {
			ev := s.MustNext(t, 10*time.Second)
			if want := `{"n":` + strconv.Itoa(n) + `}`; ev.Data != want {
				t.Fatalf("stream %d event %d: data %q, want %q", i, n, ev.Data, want)
			}
		}
	}

	checks := []struct {
		query string
		want  float64
	}{
		{fmt.Sprintf(`ssegate_gateway_connections{job=%q}`, gatewayJob), streams},
		{fmt.Sprintf(`ssegate_gateway_events_delivered_total{job=%q}`, gatewayJob), streams * events},
		{fmt.Sprintf(`ssegate_gateway_delivery_latency_seconds_count{job=%q}`, gatewayJob), streams * events},
		{fmt.Sprintf(`sum(ssegate_gateway_events_received_total{job=%q})`, gatewayJob), events},
		{fmt.Sprintf(`ssegate_gateway_events_received_total{job=%q, kind="envelope"}`, gatewayJob), events},
		{fmt.Sprintf(`ssegate_gateway_connections_opened_total{job=%q}`, gatewayJob), streams},
		{fmt.Sprintf(`ssegate_gateway_redis_subscription_up{job=%q}`, gatewayJob), 1},
		{fmt.Sprintf(`ssegate_gateway_topics{job=%q}`, gatewayJob), 1},
		{fmt.Sprintf(`sum(ssegate_gateway_clients_evicted_total{job=%q})`, gatewayJob), 0},
		{fmt.Sprintf(`sum(ssegate_publisher_events_published_total{job=%q})`, publisherJob), events},
		{fmt.Sprintf(`ssegate_publisher_events_published_total{job=%q, endpoint="/v1/events"}`, publisherJob), events},
		{fmt.Sprintf(`ssegate_publisher_requests_total{job=%q, endpoint="/v1/events", code="202"}`, publisherJob), events},
		{fmt.Sprintf(`ssegate_publisher_publish_duration_seconds_count{job=%q, phase="redis"}`, publisherJob), events},
	}
	for _, c := range checks {
		prom.waitValue(t, wait, c.query, c.want)
	}

	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v > 0 }
	for _, q := range []string{
		// Over the cumulative buckets as stored.
		fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (ssegate_gateway_delivery_latency_seconds_bucket{job=%q}))`, gatewayJob),
		// As the dashboard and the DeliveryLatencyHigh alert compute it.
		fmt.Sprintf(`histogram_quantile(0.99, sum by (job, le) (rate(ssegate_gateway_delivery_latency_seconds_bucket{job=%q}[1m])))`, gatewayJob),
		fmt.Sprintf(`histogram_quantile(0.5, sum by (le) (rate(ssegate_gateway_fanout_duration_seconds_bucket{job=%q}[1m])))`, gatewayJob),
		fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(ssegate_publisher_publish_duration_seconds_bucket{job=%q, phase="redis"}[1m])))`, publisherJob),
	} {
		v := prom.waitFor(t, wait, q, "a finite positive quantile", finite)
		// Loopback delivery of 1000 small events stays far below the
		// largest explicit bucket (10 s).
		if v > 10 {
			t.Errorf("%s = %v s, want below 10 s", q, v)
		}
		t.Logf("%s = %.6f s", q, v)
	}

	// The services' own view agrees (and is what was scraped).
	for _, s := range subs {
		s.Close()
	}
	prom.waitValue(t, wait, fmt.Sprintf(`ssegate_gateway_connections{job=%q}`, gatewayJob), 0)
	prom.waitValue(t, wait, fmt.Sprintf(`ssegate_gateway_connections_closed_total{job=%q, reason="normal"}`, gatewayJob), streams)
}

// hostPort returns the host:port of an http:// URL.
func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Host
}
