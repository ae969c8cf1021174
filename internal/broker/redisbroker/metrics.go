package redisbroker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
)

// CountErrors registers the counter name{class} with reg, with a series for
// every broker.Class from the first scrape (rate() sees 0, not no data), and
// returns the Options.OnError that counts in it. Each service names its own
// (ssegate_gateway_redis_errors_total, ssegate_publisher_redis_errors_total).
func CountErrors(reg prometheus.Registerer, name string) func(broker.Class) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: name,
		Help: "Redis commands that failed, by class: connection, timeout, oom, readonly, busy, loading, masterdown, noreplicas, " +
			"clusterdown, tryagain (answered 503 with Retry-After); noperm, wrongpass, noscript (500, and not ready); other (500).",
	}, []string{"class"})
	reg.MustRegister(v)
	for _, c := range broker.Classes() {
		v.WithLabelValues(string(c))
	}
	return func(c broker.Class) { v.WithLabelValues(string(c)).Inc() }
}
