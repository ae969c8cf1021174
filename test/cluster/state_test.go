package cluster

import (
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// TestStateRace (issue 14) on the 3-primary cluster with sharded pub/sub:
// 1,000 keyed publishes over 50 keys race 100 clients opening ?state=1;
// every client ends with the state Redis holds, and none gets after its
// marker an event older than the one it holds for that key, twice, or
// not at all (harness.StateRace; test/integration runs it on one Redis).
func TestStateRace(t *testing.T) {
	c := startCluster(t)
	pcfg := publisher.ProgramConfig{RedisURL: c.URL(), Sharded: true, ShutdownGrace: 5 * time.Second}
	pcfg.PublishTimeout = waitFor
	p := harness.StartPublisher(t, pcfg)
	g := harness.StartGateway(t, gateway.ProgramConfig{
		Config: gateway.Config{
			PingInterval: time.Second, SendTimeout: 5 * time.Second, Retry: 100 * time.Millisecond,
			QueueSize: 1 << 14, SubscribeTimeout: 10 * time.Second, StateCacheTTL: 20 * time.Millisecond,
		},
		RedisURL: c.URL(), Sharded: true, ShutdownGrace: 5 * time.Second,
	})
	harness.WaitHTTP(t, g.URL+"/readyz", http.StatusOK)
	// One stream holds the topic's shard subscription first: while a
	// sharded subscription to a new shard is being set up, concurrent
	// streams of that shard are refused 503 (HealthyFor sees the shard's
	// session needed and not up yet), which is not what this test is about.
	first := harness.Subscribe(t, g.URL+"/api/sse/stream?topic=state:race", nil)
	first.MustPosition(t, waitFor)
	harness.StateRace{
		Gateway: g.URL, Publisher: p.URL, Topic: "state:race",
		Keys: 50, Events: 1000, Clients: 100, Timeout: 2 * waitFor,
	}.Run(t)
}
