package redisbroker_test

import (
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// TestPublishAfterHistoryLostKeepsIDsIncreasing: a topic's history key
// disappears between two publishes (evicted by an allkeys-* policy,
// deleted, FLUSHALL), often within the same millisecond as the last
// event. The next event's ID must still be after the last one: a gateway
// subscribed throughout drops a live message whose ID is not newer than
// what it dispatched (it takes it for a duplicate), so an ID that went
// back would be lost silently for every open stream. XADD * on a new key
// starts at "<now>-0", which is behind "<now>-N" of the lost history.
func TestPublishAfterHistoryLostKeepsIDsIncreasing(t *testing.T) {
	const topic = "recreated"
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	publish := func() broker.PublishResult {
		t.Helper()
		res, err := b.Publish(ctxT(t), broker.PublishRequest{Topic: topic, Data: []byte(`{}`), AcceptedAt: time.Now()})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		return res
	}
	// Bounded: on Redis's unchanged XADD most rounds land in one
	// millisecond, so the first few show the regression.
	for round := range 200 {
		before := publish()
		before = publishAgain(t, publish, before)
		srv.Do(t, "DEL", redisbroker.StreamKey(topic))
		after := publish()
		if !before.ID.Less(after.ID) {
			t.Fatalf("round %d: the first event of the recreated history has ID %s, not after the lost one's %s",
				round, after.ID, before.ID)
		}
	}
}

// publishAgain publishes once more so the lost history's last ID has a
// sequence number above 0 when both land in one millisecond.
func publishAgain(t *testing.T, publish func() broker.PublishResult, prev broker.PublishResult) broker.PublishResult {
	t.Helper()
	next := publish()
	if !prev.ID.Less(next.ID) {
		t.Fatalf("IDs of one history not increasing: %s then %s", prev.ID, next.ID)
	}
	return next
}
