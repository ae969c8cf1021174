package redisbroker

// shardedTopology is the topology of sharded pub/sub on a Redis Cluster:
// SPUBLISH reaches only the shard owning the channel's slot, so each topic
// goes on a session to the primary owning its slot, and a primary owning
// no wanted topic gets no session.
type shardedTopology struct {
	clusterNodes
}

var _ topology = (*shardedTopology)(nil)

func (*shardedTopology) fixed(func(string) bool) (string, bool) { return "", false }

func (*shardedTopology) shared() bool { return false }

func (t *shardedTopology) home(topic string) (string, bool) {
	addr := t.table.owner(topicSlot(topic))
	return addr, addr != ""
}

// batches holds the topics of one hash slot only per batch: Redis refuses
// channels of several slots in one SSUBSCRIBE (CROSSSLOT).
func (*shardedTopology) batches(topics []string) [][]string {
	bySlot := make(map[int][]string)
	for _, t := range topics {
		slot := topicSlot(t)
		bySlot[slot] = append(bySlot[slot], t)
	}
	var batches [][]string
	for _, ts := range bySlot {
		batches = chunk(batches, ts)
	}
	return batches
}

// ended: the node may be gone or no longer a primary.
func (t *shardedTopology) ended(string) { t.stale = true }

// healthy: slot ownership is known and every session routing needs is
// up; with no topic wanted, none is needed.
func (t *shardedTopology) healthy(v sessionView) bool { return t.table != nil && v.allUp() }

// healthyFor looks only at the shards owning topics: a failover of one
// shard does not refuse subscribers of the others. A shard this process
// needs no connection to yet counts as up; subscribing finds out. With no
// topics it says whether any could be served (readiness): slot ownership
// is known and some needed connection is up, or none is needed.
func (t *shardedTopology) healthyFor(topics []string, v sessionView) bool {
	if t.table == nil {
		return false
	}
	if len(topics) == 0 {
		for addr := range v.need {
			if v.up(addr) {
				return true
			}
		}
		return len(v.need) == 0
	}
	for _, topic := range topics {
		addr, ok := t.home(topic)
		if !ok || v.need[addr] && v.down(addr) {
			return false
		}
	}
	return true
}
