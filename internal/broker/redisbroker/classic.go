package redisbroker

import "math/rand/v2"

// classicTopology is the topology of classic pub/sub on a Redis Cluster: Redis
// forwards every PUBLISH to every node, so every topic goes on one session
// to any one primary.
type classicTopology struct {
	clusterNodes
	node string // the primary holding every subscription; "" = not chosen
}

var _ topology = (*classicTopology)(nil)

// fixed returns the chosen primary, choosing one once slot ownership is
// known: at random, so that gateways spread over the nodes, and not one
// held back (just failed) unless all are.
func (c *classicTopology) fixed(held func(string) bool) (string, bool) {
	if c.node == "" && c.table != nil {
		c.node = pick(c.table.primaries(), held)
	}
	return c.node, c.node != ""
}

func pick(all []string, held func(string) bool) string {
	var ok []string
	for _, addr := range all {
		if !held(addr) {
			ok = append(ok, addr)
		}
	}
	if len(ok) == 0 {
		ok = all
	}
	if len(ok) == 0 {
		return ""
	}
	return ok[rand.IntN(len(ok))]
}

func (*classicTopology) shared() bool { return true }

func (c *classicTopology) home(string) (string, bool) { return c.node, c.node != "" }

func (*classicTopology) batches(topics []string) [][]string { return chunk(nil, topics) }

// ended: the node may be gone or no longer a primary; choose again.
func (c *classicTopology) ended(addr string) {
	c.stale = true
	if c.node == addr {
		c.node = ""
	}
}

// healthy: slot ownership is known and the chosen primary's session is up.
func (c *classicTopology) healthy(v sessionView) bool {
	return c.table != nil && len(v.need) > 0 && v.allUp()
}

func (c *classicTopology) healthyFor(_ []string, v sessionView) bool { return c.healthy(v) }
