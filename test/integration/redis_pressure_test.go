package integration

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/test/harness"
)

// outputLimitLog is what Redis logs when it drops a client for exceeding
// client-output-buffer-limit (Redis 7.0 counts it nowhere in INFO).
const outputLimitLog = "for overcoming of output buffer limits"

// TestPubSubOutputBufferLimit: Redis drops the gateway's subscription
// connection again and again because its pub/sub output buffer exceeds
// `client-output-buffer-limit pubsub 1kb 1kb 1` during a 2,000-event
// burst on two topics; every client (single- and multi-topic) still gets
// every event exactly once, in order, because the gateway resubscribes
// and backfills each gap from history.
func TestPubSubOutputBufferLimit(t *testing.T) {
	topics := []string{"obl:a", "obl:b"} // sorted: the order of id parts
	srv, p, g := startStack(t)
	type client struct {
		name   string
		topics []string
		s      *harness.Stream
	}
	clients := []client{
		{name: "single a #1", topics: topics[:1]}, {name: "single a #2", topics: topics[:1]},
		{name: "single b", topics: topics[1:]},
		{name: "multi #1", topics: topics}, {name: "multi #2", topics: topics},
	}
	for i := range clients {
		clients[i].s = harness.Subscribe(t, streamURL(g, clients[i].topics...), nil)
	}
	// Events of ~4 KB: a few published while the gateway's reader is busy
	// outgrow Redis's 16 KB reply buffer and the 1 KB limit behind it.
	p.pad = strings.Repeat("x", 4096)
	srv.Do(t, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 1kb 1kb 1")

	const perTopic = 1000
	errs := make(chan error, len(topics))
	for _, tp := range topics {
		go func() { errs <- p.publishMany(context.Background(), tp, 0, perTopic, 4, nil) }()
	}
	for range topics {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	srv.Do(t, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
	want := map[string][]string{}
	for _, tp := range topics {
		if want[tp] = streamIDs(t, srv, tp); len(want[tp]) != perTopic {
			t.Fatalf("history of %s holds %d events, want %d", tp, len(want[tp]), perTopic)
		}
	}
	for _, c := range clients {
		checkPerTopic(t, c.name, c.topics, collect(t, c.s, perTopic*len(c.topics)), want)
	}
	live := map[string][]string{}
	for _, tp := range topics { // nothing duplicated is still queued
		live[tp] = append(want[tp], p.publishSeq(t, tp, perTopic, 1)...)
	}
	for _, c := range clients {
		got := collect(t, c.s, len(c.topics))
		checkPerTopic(t, c.name+", live", c.topics, got, onlyLast(live, c.topics))
	}

	resubs := harness.Metric(t, g.Registry, "ssegate_gateway_redis_resubscriptions_total")
	if resubs == 0 {
		t.Fatal("redis_resubscriptions_total = 0: Redis never dropped the subscription, the test proves nothing")
	}
	drops := -1
	if text, ok := srv.Log(t); ok {
		if drops = strings.Count(text, outputLimitLog); drops == 0 {
			t.Fatalf("the Redis log never mentions %q: the subscription was not dropped for its output buffer", outputLimitLog)
		}
	}
	t.Logf("Redis dropped the subscription %d times for its output buffer; %v resubscriptions, %v events backfilled",
		drops, resubs, harness.Metric(t, g.Registry, "ssegate_gateway_backfilled_events_total"))
}

// onlyLast keeps the last id of each of topics.
func onlyLast(ids map[string][]string, topics []string) map[string][]string {
	out := map[string][]string{}
	for _, tp := range topics {
		out[tp] = ids[tp][len(ids[tp])-1:]
	}
	return out
}

// checkPerTopic checks events received on a stream of topics (sorted):
// per topic, the events' ids are exactly want[topic] (no gap, no
// duplicate, in order), and on a multi-topic stream every composite id
// is the position of every topic after that event.
func checkPerTopic(t testing.TB, what string, topics []string, evs []harness.Event, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	var pos []string // the composite id's parts, once known
	for _, ev := range evs {
		d := dataOf(t, ev)
		ti := slices.Index(topics, d.Topic)
		if ti < 0 || ev.Name != "message" {
			t.Fatalf("%s: unexpected event %+v", what, ev)
		}
		parts := strings.Split(ev.ID, "_")
		if len(parts) != len(topics) {
			t.Fatalf("%s: event id %q has %d parts, want %d", what, ev.ID, len(parts), len(topics))
		}
		if pos != nil {
			want := slices.Clone(pos)
			want[ti] = parts[ti]
			if !slices.Equal(parts, want) {
				t.Fatalf("%s: event on %s has id %q, want the other parts of %q unchanged", what, d.Topic, ev.ID, strings.Join(pos, "_"))
			}
		}
		pos = parts
		got[d.Topic] = append(got[d.Topic], parts[ti])
	}
	for _, tp := range topics {
		sameIDs(t, what+" on "+tp, got[tp], want[tp])
	}
}
