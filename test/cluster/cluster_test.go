package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// modes are the pub/sub flavours every end-to-end case runs in.
var modes = []struct {
	name    string
	sharded bool
}{{"classic", false}, {"sharded", true}}

// Events published per case: twelve per topic.
const (
	totalEvents = 12 * topicCount
	failAt      = totalEvents / 3 // the failure happens after this many
)

// waitChan waits for ch to close or deliver, failing after waitFor.
func waitChan[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(2 * waitFor)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("%s: not within %v", what, 2*waitFor)
		var zero T
		return zero
	}
}

// TestGatewayReplicaLoss kills one of two gateway replicas abruptly (its
// connections reset mid-stream) while a producer publishes steadily; its
// clients reconnect to the other replica with Last-Event-ID and every
// client ends with every event of its topics exactly once, in order, with
// the ids of the topics' history in Redis.
func TestGatewayReplicaLoss(t *testing.T) {
	c := startCluster(t) // Redis is not harmed here: both modes share it
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := startEnv(t, c, mode.sharded, 2, true, "loss-"+mode.name)
			clients := e.clients(t)
			reached, done := e.publishStream(t, totalEvents, failAt)
			waitChan(t, "producer progress", reached)
			var orphans []*client
			for _, c := range clients {
				if c.gw == 0 {
					// An event seen gives the client an id to resume from.
					c.waitEvents(t, map[string]int{c.topics[0]: 1})
					orphans = append(orphans, c)
				}
			}
			e.gws[0].proxy.kill()
			if err := e.gws[0].Stop(t); err != nil {
				t.Logf("stopping the killed gateway: %v", err)
			}
			for _, c := range orphans {
				c.drainToEnd(t)
				e.reconnect(t, c, 1)
			}
			if err := waitChan(t, "producer done", done); err != nil {
				t.Fatalf("producer: %v", err)
			}
			e.verify(t, clients)
			t.Logf("%d clients moved to the surviving replica; %d publishes retried", len(orphans), e.retries.Load())
		})
	}
}

// TestPrimaryFailover kills the Redis primary of one shard while a
// producer publishes steadily and retries the 503s of the switch with the
// same Idempotency-Key; after its replica took over, every client, still
// connected, has every event exactly once, in order.
func TestPrimaryFailover(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := startEnv(t, startCluster(t), mode.sharded, 2, false, "failover")
			clients := e.clients(t)
			reached, done := e.publishStream(t, totalEvents, failAt)
			waitChan(t, "producer progress", reached)
			// Classic, kill a primary a gateway subscribes on (Redis
			// forwards classic messages to every node, so killing another
			// one would not touch the subscriptions).
			victim := e.cluster.Primaries(t)[0]
			if !mode.sharded {
				for _, p := range e.cluster.Primaries(t) {
					if pubsubConns(t, []*redistest.Node{p}) > 0 {
						victim = p
						break
					}
				}
			}
			promoted := e.cluster.KillPrimary(t, victim)
			if err := waitChan(t, "producer done", done); err != nil {
				t.Fatalf("producer: %v", err)
			}
			e.verify(t, clients)
			resubs := make([]float64, len(e.gws))
			total := 0.0
			for i, g := range e.gws {
				resubs[i] = harness.Metric(t, g.Registry, "ssegate_gateway_redis_resubscriptions_total")
				total += resubs[i]
				// Sharded, each gateway held the dead primary's topics on a
				// connection to it; classic, only if that was its node.
				if mode.sharded && resubs[i] == 0 {
					t.Errorf("gateway %d: no resubscription after its shard failed over", i)
				}
			}
			if total == 0 {
				t.Error("no gateway resubscribed: the failover did not touch a subscription")
			}
			t.Logf("%s failed over to %s; %d publishes retried, %d answered by idempotency; resubscriptions per gateway %v",
				victim.Addr(), promoted.Addr(), e.retries.Load(), e.replays.Load(), resubs)
		})
	}
}

// TestSubscriptionsPerShard checks where two gateways' subscriptions live.
// Sharded: on every primary, PUBSUB SHARDNUMSUB counts one subscriber per
// gateway for the topics it owns and none for the others, and CLIENT LIST
// shows exactly one pubsub connection per gateway. Classic: no shard
// channel anywhere and one pubsub connection per gateway in the whole
// cluster.
func TestSubscriptionsPerShard(t *testing.T) {
	c := startCluster(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			// The previous mode's gateways have stopped; Redis may take a
			// moment to notice their connections closed.
			eventually(t, "no pubsub connection left", func() bool { return pubsubConns(t, c.Nodes()) == 0 })
			e := startEnv(t, c, mode.sharded, 2, false, "layout")
			half := len(e.topics) / 2
			for g := range e.gws {
				e.subscribe(t, fmt.Sprintf("gw%d-first", g), e.topics[:half], g)
				e.subscribe(t, fmt.Sprintf("gw%d-second", g), e.topics[half:], g)
			}
			totalConns := pubsubConns(t, e.cluster.Nodes())
			for _, p := range e.cluster.Primaries(t) {
				counts := p.DoSlice(t, append([]string{"PUBSUB", "SHARDNUMSUB"}, e.topics...)...)
				owned := 0
				for i, tp := range e.topics {
					want := "0"
					if mode.sharded && e.owner(t, tp) == p {
						want = fmt.Sprint(len(e.gws))
						owned++
					}
					if counts[2*i] != tp || counts[2*i+1] != want {
						t.Errorf("%s: PUBSUB SHARDNUMSUB %s = %s, want %s", p.Addr(), tp, counts[2*i+1], want)
					}
				}
				conns := pubsubConns(t, []*redistest.Node{p})
				if mode.sharded && conns != len(e.gws) {
					t.Errorf("%s: %d pubsub connections, want one per gateway (%d)", p.Addr(), conns, len(e.gws))
				}
				t.Logf("%s owns %d topics; %d pubsub connections", p.Addr(), owned, conns)
			}
			if want := len(e.gws); !mode.sharded && totalConns != want {
				t.Errorf("%d pubsub connections in the cluster, want one per gateway (%d)", totalConns, want)
			}
		})
	}
}

// pubsubConns counts the pubsub connections (CLIENT LIST TYPE pubsub) of
// the running nodes among nodes.
func pubsubConns(t *testing.T, nodes []*redistest.Node) int {
	t.Helper()
	n := 0
	for _, node := range nodes {
		if node.Alive() {
			n += strings.Count(node.Do(t, "CLIENT", "LIST", "TYPE", "pubsub"), "id=")
		}
	}
	return n
}

// eventually polls cond (Redis state) until it holds, failing after
// waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	harness.Eventually(t, waitFor, what, cond)
}
