package gateway

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ssegate/ssegate/internal/status"
)

// topicStats is what the hub knows of one topic at a moment.
type topicStats struct {
	name        string
	subscribers int
	events      uint64
	position    string
}

// stats returns the number of connections and each topic's subscribers,
// events and position, by topic name. It is the status page's reader: it
// takes the hub's lock for reading and each topic's lock briefly, once per
// sample (a second), and adds no work to the dispatch of an event beyond
// the one counter increment under the topic lock dispatch already holds.
func (h *hub) stats() (conns int, topics []topicStats) {
	h.mu.RLock()
	conns = len(h.conns)
	names := make([]string, 0, len(h.topics))
	ts := make([]*hubTopic, 0, len(h.topics))
	for name, t := range h.topics {
		names = append(names, name)
		ts = append(ts, t)
	}
	h.mu.RUnlock()
	topics = make([]topicStats, len(ts))
	for i, t := range ts {
		t.mu.Lock()
		topics[i] = topicStats{name: names[i], subscribers: len(t.members), events: t.events}
		if !t.last.IsZero() {
			topics[i].position = t.last.String()
		}
		t.mu.Unlock()
	}
	sort.Slice(topics, func(i, j int) bool { return topics[i].name < topics[j].name })
	return conns, topics
}

// report fills the parts of a status report the stream server knows:
// connections, topics (rates from r), evictions, resets and the broker.
func (s *Server) report(r *rates, now time.Time) status.Report {
	conns, topics := s.hub.stats()
	rep := status.Report{
		GeneratedAt:       now,
		Connections:       conns,
		RateWindowSeconds: rateWindow.Seconds(),
		Topics:            make([]status.Topic, 0, len(topics)),
		Evictions:         counterValues(s.metrics.Evicted, "queue_full", "send_timeout"),
		Resets:            counterValues(s.metrics.Resets, "trimmed", "malformed", "unknown_stream"),
		Broker:            s.brokerStatus(),
	}
	perSecond := r.rates(topics, now)
	for i, t := range topics {
		rep.Topics = append(rep.Topics, status.Topic{
			Topic: t.name, Subscribers: t.subscribers, EventsTotal: t.events,
			RatePerSecond: perSecond[i], Position: t.position,
		})
	}
	return rep
}

// brokerStatus describes the broker subscription.
func (s *Server) brokerStatus() status.Broker {
	subs := s.broker.Subscriptions()
	out := status.Broker{Kind: "redis", Mode: subs.Mode, Healthy: s.broker.Healthy(), Shards: []status.Shard{}}
	if subs.Mode == "memory" {
		out.Kind, out.Mode = "memory", ""
	}
	if f := s.broker.Fault(); f != nil {
		out.Fault = f.Error()
	}
	for _, n := range subs.Nodes {
		out.Shards = append(out.Shards, status.Shard{Address: n.Addr, State: n.State, Since: n.Since, Topics: n.Topics})
	}
	return out
}

// counterValues reads a counter vector's value for each label value (the
// label values initLabels creates), by label value.
func counterValues(vec *prometheus.CounterVec, labels ...string) map[string]uint64 {
	out := make(map[string]uint64, len(labels))
	for _, l := range labels {
		var m dto.Metric
		if err := vec.WithLabelValues(l).Write(&m); err == nil {
			out[l] = uint64(m.GetCounter().GetValue())
		}
	}
	return out
}
