package redisbroker_test

import (
	"testing"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// TestSubscriptionsReportsTheConnection: on a single Redis the status page
// sees one connection, named by the URL's address (no credentials), up
// with the topics routed to it and since when.
func TestSubscriptionsReportsTheConnection(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	run(t, b)
	if err := b.Subscribe(ctxT(t), []string{"subs:a", "subs:b"}); err != nil {
		t.Fatal(err)
	}
	var got broker.Subscriptions
	eventually(t, "one connection up with 2 topics", func() bool {
		got = b.Subscriptions()
		return len(got.Nodes) == 1 && got.Nodes[0].State == broker.NodeUp && got.Nodes[0].Topics == 2
	})
	n := got.Nodes[0]
	if got.Mode != "single" || n.Addr != srv.Addr() || n.Since.IsZero() {
		t.Fatalf("Subscriptions = %+v, want mode single, address %s, a since", got, srv.Addr())
	}
}
