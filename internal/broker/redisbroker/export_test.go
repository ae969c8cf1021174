package redisbroker

import "sort"

// Test hooks into the broker's internals (compiled into tests only).

// TopicCount is how many topics the subscriber keeps state for.
func TopicCount(b *Broker) int {
	b.subs.mu.Lock()
	defer b.subs.mu.Unlock()
	return len(b.subs.topics)
}

// ClusterMode reports whether the broker found a Redis Cluster.
func ClusterMode(b *Broker) bool {
	b.subs.mu.Lock()
	defer b.subs.mu.Unlock()
	return b.subs.topo != nil && b.subs.topo.slots() != nil
}

// SessionAddrs lists the nodes the subscriber holds a session to that is
// up, sorted.
func SessionAddrs(b *Broker) []string {
	b.subs.mu.Lock()
	defer b.subs.mu.Unlock()
	var out []string
	for addr, se := range b.subs.sessions {
		if se.up {
			out = append(out, addr)
		}
	}
	sort.Strings(out)
	return out
}

// Transient exposes the classification unavailable uses.
func Transient(err error) bool { return transient(err) }

// TopicSlot exposes the hash slot computation.
func TopicSlot(topic string) int { return topicSlot(topic) }
