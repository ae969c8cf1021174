package integration

import (
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// TestStateRace (issue 14): 1,000 keyed publishes over 50 keys race 100
// clients opening ?state=1 on one Redis: every client ends with the
// state Redis holds, and none gets after its marker an event older than
// the one it holds for that key (harness.StateRace). With a 20 ms state
// cache some clients start from a cached state behind the hub's snapshot
// (the events since replayed from history after the marker), others from
// a fresh read ahead of it (live events up to it skipped: the test fails
// when they are not).
func TestStateRace(t *testing.T) {
	srv := redistest.Start(t)
	p := startPublisher(t, srv, broker.HistoryConfig{})
	g := startGateway(t, srv, gateway.Config{StateCacheTTL: 20 * time.Millisecond})
	harness.StateRace{
		Gateway: g.URL, Publisher: p.URL, Topic: "state:race",
		Keys: 50, Events: 1000, Clients: 100, Timeout: 2 * waitFor,
	}.Run(t)
}

// TestStateContract (issue 14) on one Redis: bad keys refused with
// nothing published, a tombstone and the key limit seen by new connects,
// a trimmed Last-Event-ID reset and followed by the state, GET /api/state
// and the marker at the same position (harness.StateContract).
func TestStateContract(t *testing.T) {
	srv := redistest.Start(t)
	hist := broker.HistoryConfig{MaxLen: harness.StateContractMaxLen}
	hist.State.MaxKeys = harness.StateContractMaxKeys
	p := startPublisher(t, srv, hist)
	g := startGateway(t, srv, gateway.Config{StateCacheTTL: time.Nanosecond})
	harness.StateContract{Gateway: g.URL, Publisher: p.URL, Topic: "state:contract", Timeout: waitFor}.Run(t)
}
