package redisbroker

import (
	"time"

	"github.com/redis/rueidis"
)

// topology is how the deployment Redis turned out to be maps topics to
// subscription sessions (connections to one node each):
//
//   - single: one server or a Sentinel-managed primary; one session,
//     dedicated from the broker's subscription client (single.go).
//   - classic: a Redis Cluster with classic pub/sub; Redis broadcasts every
//     PUBLISH to every node, so one session to any primary (classic.go).
//   - sharded: a Redis Cluster with sharded pub/sub; SPUBLISH reaches only
//     the shard owning the channel's slot, so one session per primary that
//     owns a wanted topic's slot (sharded.go).
//
// Every method except dial is called with subscriber.mu held and must not
// block.
type topology interface {
	// fixed returns the node that needs a session whatever topics are
	// wanted, choosing it if need be, avoiding nodes held back (waiting out
	// a failed attempt) when it can. ok is false when there is none: the
	// sessions follow the topics.
	fixed(held func(addr string) bool) (addr string, ok bool)
	// shared reports whether one session holds every topic (single,
	// classic) rather than sessions following the topics, one per shard
	// owning a wanted topic's slot and closed once it holds none (sharded).
	shared() bool
	// home returns the node whose session a wanted topic goes on; ok is
	// false while that is unknown.
	home(topic string) (addr string, ok bool)
	// batches splits topics into the channel lists of SUBSCRIBE or
	// UNSUBSCRIBE commands, subscribeBatch at most each.
	batches(topics []string) [][]string
	// dial returns the client a session to addr dedicates its connection
	// from; own says the session made it and must close it.
	dial(addr string) (c rueidis.Client, own bool, err error)
	// slots returns the slot ownership routing depends on, nil when the
	// deployment is no cluster.
	slots() *slotState
	// ended notes that the session to addr ended.
	ended(addr string)
	// healthy reports whether every session routing needs is up and
	// routing knows what it needs to.
	healthy(v sessionView) bool
	// healthyFor reports whether topics can be subscribed now; for no
	// topics, whether any could be (readiness).
	healthyFor(topics []string, v sessionView) bool
}

// newTopology picks the topology of the deployment client found; nodeOpt
// is the template of per-node session clients on a cluster.
func newTopology(client rueidis.Client, nodeOpt rueidis.ClientOption, sharded bool) topology {
	if client.Mode() != rueidis.ClientModeCluster {
		return &singleTopology{client: client}
	}
	nodeOpt.Sentinel = rueidis.SentinelOption{}
	nodeOpt.ForceSingleClient = true
	c := clusterNodes{slotState: slotState{client: client}, nodeOpt: nodeOpt}
	if sharded {
		return &shardedTopology{clusterNodes: c}
	}
	return &classicTopology{clusterNodes: c}
}

// sessionView is what a health check sees of the sessions.
type sessionView struct {
	need      map[string]bool      // addresses routing wants a session for
	sessions  map[string]*session  // running sessions by address
	downSince map[string]time.Time // addresses whose last session failed, while none runs
}

// up reports whether the session to addr is connected and not stopping.
func (v sessionView) up(addr string) bool {
	se := v.sessions[addr]
	return se != nil && se.up && !se.stopping
}

// down reports whether the subscription to addr is known to be failing:
// its session failed and the next one is not up yet. A first session
// still connecting is not down: a stream for a topic there waits for its
// subscription to be confirmed, as the first stream of the topic does,
// rather than being refused while a new shard's connection is set up.
func (v sessionView) down(addr string) bool {
	se := v.sessions[addr]
	if se == nil {
		_, failed := v.downSince[addr]
		return failed
	}
	return se.stopping || !se.up && se.reconnect
}

// allUp reports whether every session routing needs is up.
func (v sessionView) allUp() bool {
	for addr := range v.need {
		if !v.up(addr) {
			return false
		}
	}
	return true
}

// chunk appends topics to batches in slices of subscribeBatch at most.
func chunk(batches [][]string, topics []string) [][]string {
	for len(topics) > 0 {
		n := min(len(topics), subscribeBatch)
		batches = append(batches, topics[:n])
		topics = topics[n:]
	}
	return batches
}
