package redisbroker

import (
	"sort"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
)

// Subscriptions reports the subscription connections for the status page:
// each node routing needs or a session runs to, its state and how many
// topics are routed to it. It takes subscriber.mu briefly, like Healthy.
func (b *Broker) Subscriptions() broker.Subscriptions {
	return b.subs.snapshot(b.seeds)
}

// snapshot is Subscriptions; seeds names the one node of a deployment that
// is not a cluster (its session address is singleAddr).
func (s *subscriber) snapshot(seeds string) broker.Subscriptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := broker.Subscriptions{Mode: modeOf(s.topo)}
	counts := map[string]int{}
	for _, t := range s.topics {
		if t.wanted {
			counts[t.node]++
		}
	}
	addrs := map[string]bool{}
	for a := range s.need {
		addrs[a] = true
	}
	for a := range s.sessions {
		addrs[a] = true
	}
	for a := range addrs {
		n := broker.NodeState{Addr: a, Topics: counts[a], State: broker.NodeDown, Since: s.downSince[a]}
		if n.Addr == singleAddr {
			n.Addr = seeds
		}
		if se := s.sessions[a]; se != nil {
			n.State, n.Since = se.state(), se.since
		}
		out.Nodes = append(out.Nodes, n)
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].Addr < out.Nodes[j].Addr })
	return out
}

// state names the session's state; called with subscriber.mu held.
func (se *session) state() string {
	switch {
	case se.stopping:
		return broker.NodeStopping
	case se.up:
		return broker.NodeUp
	}
	return broker.NodeConnecting
}

// mark records that the session's state changed at now; called with
// subscriber.mu held.
func (se *session) mark(now time.Time) { se.since = now }

// modeOf names the topology; "" before Redis answered.
func modeOf(t topology) string {
	switch t.(type) {
	case *singleTopology:
		return "single"
	case *classicTopology:
		return "cluster"
	case *shardedTopology:
		return "sharded"
	}
	return ""
}
