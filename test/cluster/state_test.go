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
// The 100 clients open at once on a shard nobody subscribed yet: while its
// first sharded subscription is set up, every one of them must wait for
// it, not be refused 503 (it was, before sessionView.down).
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
	harness.StateRace{
		Gateway: g.URL, Publisher: p.URL, Topic: "state:race",
		Keys: 50, Events: 1000, Clients: 100, Timeout: 2 * waitFor,
	}.Run(t)
}

// TestStateContract (issue 14) on the 3-primary cluster with sharded
// pub/sub: the same rules as on one Redis (harness.StateContract).
func TestStateContract(t *testing.T) {
	c := startCluster(t)
	pcfg := publisher.ProgramConfig{RedisURL: c.URL(), Sharded: true, ShutdownGrace: 5 * time.Second}
	pcfg.PublishTimeout = waitFor
	pcfg.History.MaxLen = harness.StateContractMaxLen
	pcfg.History.State.MaxKeys = harness.StateContractMaxKeys
	p := harness.StartPublisher(t, pcfg)
	g := harness.StartGateway(t, gateway.ProgramConfig{
		Config: gateway.Config{
			PingInterval: time.Second, SendTimeout: 5 * time.Second, Retry: 100 * time.Millisecond,
			SubscribeTimeout: 10 * time.Second, StateCacheTTL: time.Nanosecond,
		},
		RedisURL: c.URL(), Sharded: true, ShutdownGrace: 5 * time.Second,
	})
	harness.WaitHTTP(t, g.URL+"/readyz", http.StatusOK)
	harness.StateContract{Gateway: g.URL, Publisher: p.URL, Topic: "state:contract", Timeout: waitFor}.Run(t)
}
