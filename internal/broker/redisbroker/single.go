package redisbroker

import "github.com/redis/rueidis"

// singleAddr is the session address of a deployment that is not a cluster
// (one server, or a Sentinel-managed primary): its one connection is
// dedicated from the subscription client, which finds the server itself.
const singleAddr = ""

// singleTopology is the topology of one server or a Sentinel-managed primary:
// every topic on one session.
type singleTopology struct {
	client rueidis.Client // the broker's subscription client
}

var _ topology = (*singleTopology)(nil)

func (*singleTopology) fixed(func(string) bool) (string, bool) { return singleAddr, true }

func (*singleTopology) shared() bool { return true }

func (*singleTopology) home(string) (string, bool) { return singleAddr, true }

func (*singleTopology) batches(topics []string) [][]string { return chunk(nil, topics) }

// dial shares the broker's client: it follows a Sentinel failover itself,
// and the session dedicates a connection from it.
func (t *singleTopology) dial(string) (rueidis.Client, bool, error) { return t.client, false, nil }

func (*singleTopology) slots() *slotState { return nil }

func (*singleTopology) ended(string) {}

// healthy: the session is up (and routing ran since attach).
func (*singleTopology) healthy(v sessionView) bool { return len(v.need) > 0 && v.allUp() }

func (t *singleTopology) healthyFor(_ []string, v sessionView) bool { return t.healthy(v) }
