package gateway

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ReplayMetrics are the metrics of resumes: how many were served from the
// topics' windows (window.go) and how many needed Redis, how many bytes the
// windows hold, and the shared history reads (replay_shared.go).
type ReplayMetrics struct {
	WindowHits    prometheus.Counter   // ssegate_gateway_window_hits_total
	WindowMisses  prometheus.Counter   // ssegate_gateway_window_misses_total
	ReplayReads   prometheus.Counter   // ssegate_gateway_replay_reads_total
	ReplayWaiting prometheus.Gauge     // ssegate_gateway_replay_reads_waiting
	WindowBytes   prometheus.GaugeFunc // ssegate_gateway_window_bytes, read off windowUsed
	windowUsed    *atomic.Int64        // the windows' budget in use (windowBudget.used)
}

func newReplayMetrics(reg prometheus.Registerer) ReplayMetrics {
	used := new(atomic.Int64)
	m := ReplayMetrics{
		windowUsed: used,
		WindowBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ssegate_gateway_window_bytes",
			Help: "Bytes the recent-events windows of all topics hold (bounded by SSEGATE_WINDOW_TOTAL_BYTES)."},
			func() float64 { return float64(used.Load()) }),
		WindowHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_window_hits_total",
			Help: "Topics of resuming streams replayed from the recent-events window in memory, without Redis."}),
		WindowMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_window_misses_total",
			Help: "Topics of resuming streams the window could not serve (position older than it, or not one of its events): read from Redis."}),
		ReplayReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssegate_gateway_replay_reads_total",
			Help: "History reads issued for resumes; concurrent resumes of the same topic and position share one."}),
		ReplayWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ssegate_gateway_replay_reads_waiting",
			Help: "Resumes waiting for a history read (shared or queued behind the replay concurrency bound)."}),
	}
	reg.MustRegister(m.WindowHits, m.WindowMisses, m.WindowBytes, m.ReplayReads, m.ReplayWaiting)
	return m
}

// newWindowConfig makes the windows' bounds from cfg, their budget counted
// in m's window bytes gauge.
func newWindowConfig(cfg Config, m *Metrics) windowConfig {
	w := windowConfig{events: cfg.WindowEvents, bytes: int64(cfg.WindowBytes), maxAge: cfg.WindowMaxAge}
	if w.events > 0 && w.bytes > 0 && cfg.WindowTotalBytes > 0 {
		w.budget = &windowBudget{max: int64(cfg.WindowTotalBytes), used: m.windowUsed}
	}
	return w
}
