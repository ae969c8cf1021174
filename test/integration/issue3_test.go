package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/streamid"
	"github.com/ssegate/ssegate/test/harness"
)

// TestResumeAfterMissing1000: a client that disconnects, misses 1,000
// events and reconnects with Last-Event-ID gets exactly those, in order,
// then live events — whether its gateway dropped the topic meanwhile or
// kept it for another client.
func TestResumeAfterMissing1000(t *testing.T) {
	tests := []struct {
		name string
		keep bool // another client keeps the topic subscribed on the gateway
	}{
		{"gateway dropped the topic", false},
		{"gateway kept the topic", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const topic = "resume"
			srv, p, g := startStack(t)
			var keeper *harness.Stream
			if tc.keep {
				keeper = harness.Subscribe(t, streamURL(g, topic), nil)
			}
			s := harness.Subscribe(t, streamURL(g, topic), nil)
			seen := p.publishSeq(t, topic, 0, 3)
			sameIDs(t, "before disconnecting", eventIDs(collect(t, s, 3)), seen)
			last := s.LastEventID()
			s.Close()
			wantConns := 0.0
			if tc.keep {
				wantConns = 1
			}
			eventually(t, "disconnected", func() bool {
				return harness.Metric(t, g.Registry, "ssegate_gateway_connections") == wantConns
			})
			if !tc.keep {
				eventually(t, "topic dropped", func() bool { return srv.NumSub(t, topic) == 0 })
			}

			p.publishConcurrently(t, topic, 3, 1000, 4, nil)
			missed := after(t, streamIDs(t, srv, topic), last)
			if len(missed) != 1000 {
				t.Fatalf("history has %d events after %s, want 1000", len(missed), last)
			}
			if keeper != nil {
				// The gateway has dispatched every missed event before r
				// joins, so r's replay (and the metric) covers all 1000;
				// an event still on its way from Redis would reach r live.
				sameIDs(t, "the keeping client", eventIDs(collect(t, keeper, 1003)), streamIDs(t, srv, topic))
			}
			r := harness.Subscribe(t, streamURL(g, topic), resumeFrom(last))
			sameIDs(t, "replay", eventIDs(collect(t, r, 1000)), missed)
			live := p.publishSeq(t, topic, 2000, 3)
			sameIDs(t, "live after replay", eventIDs(collect(t, r, 3)), live)
			if keeper != nil {
				sameIDs(t, "the keeping client, live", eventIDs(collect(t, keeper, 3)), live)
			}
			if n := harness.Metric(t, g.Registry, "ssegate_gateway_events_replayed_total"); n != 1000 {
				t.Fatalf("events_replayed_total = %v, want 1000", n)
			}
		})
	}
}

// TestBackfillAcrossSubscriptionKills: the gateway's subscription
// connection is killed again and again during a burst of publishes; every
// connected client still gets every event exactly once, in order, because
// the gateway backfills each gap from history.
func TestBackfillAcrossSubscriptionKills(t *testing.T) {
	const topic = "kills"
	srv, p, g := startStack(t)
	clients := make([]*harness.Stream, 3)
	for i := range clients {
		clients[i] = harness.Subscribe(t, streamURL(g, topic), nil)
	}

	kill := make(chan struct{}, 1)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		kills  int
		errs   []error
		killed int64
	)
	wg.Add(1)
	go func() { // the killer: one CLIENT KILL per signal, until kill closes
		defer wg.Done()
		for range kill {
			r, err := srv.Exec(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub")
			mu.Lock()
			kills++
			killed += r.Int
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		}
	}()
	p.publishConcurrently(t, topic, 0, 1000, 4, func(done int) {
		if done%40 == 0 {
			select {
			case kill <- struct{}{}:
			default: // the previous kill is still running
			}
		}
	})
	close(kill)
	wg.Wait()
	if len(errs) > 0 || killed == 0 {
		t.Fatalf("%d CLIENT KILLs closed %d connections; errors: %v", kills, killed, errs)
	}

	want := streamIDs(t, srv, topic)
	if len(want) != 1000 {
		t.Fatalf("history holds %d events, want 1000", len(want))
	}
	for i, c := range clients {
		sameIDs(t, "client "+string(rune('A'+i)), eventIDs(collect(t, c, 1000)), want)
	}
	live := p.publishSeq(t, topic, 1000, 1) // nothing duplicated is still queued
	for i, c := range clients {
		sameIDs(t, "live, client "+string(rune('A'+i)), eventIDs(collect(t, c, 1)), live)
	}
	resubs := harness.Metric(t, g.Registry, "ssegate_gateway_redis_resubscriptions_total")
	if resubs == 0 {
		t.Fatal("redis_resubscriptions_total = 0 after the kills")
	}
	t.Logf("%d kills closed %d subscription connections; %v resubscriptions, %v events backfilled",
		kills, killed, resubs, harness.Metric(t, g.Registry, "ssegate_gateway_backfilled_events_total"))
}

// resetData is the data of an `event: reset`.
type resetData struct {
	Reason string   `json:"reason"`
	Topics []string `json:"topics"`
}

// TestResetEvents: a position that cannot be resumed yields `event: reset`
// with the reason and topics, an id for "now", and live events after it.
func TestResetEvents(t *testing.T) {
	srv := redistest.Start(t)
	p := startPublisher(t, srv, broker.HistoryConfig{})
	short := startPublisher(t, srv, broker.HistoryConfig{MaxLen: 100})
	g := startGateway(t, srv, gateway.Config{})

	tests := []struct {
		name   string
		topics []string
		// setup publishes and returns the Last-Event-ID to send.
		setup  func(t *testing.T) string
		reason string
	}{
		{
			name: "trimmed", topics: []string{"r:trim"}, reason: "trimmed",
			setup: func(t *testing.T) string {
				first := short.publishSeq(t, "r:trim", 0, 1)[0]
				short.publishConcurrently(t, "r:trim", 1, 2000, 4, nil)
				if n := len(streamIDs(t, srv, "r:trim")); n >= 2000 {
					t.Fatalf("history holds %d events: MaxLen 100 did not trim", n)
				}
				return first
			},
		},
		{
			name: "malformed", topics: []string{"r:bad"}, reason: "malformed",
			setup: func(t *testing.T) string {
				p.publishSeq(t, "r:bad", 0, 3)
				return "not-an-id"
			},
		},
		{
			name: "malformed composite", topics: []string{"r:m1", "r:m2"}, reason: "malformed",
			setup: func(t *testing.T) string {
				p.publishSeq(t, "r:m1", 0, 2)
				p.publishSeq(t, "r:m2", 0, 2)
				return streamIDs(t, srv, "r:m1")[0] // one position for two topics
			},
		},
		{
			name: "after FLUSHALL", topics: []string{"r:flush"}, reason: "unknown_stream",
			setup: func(t *testing.T) string {
				old := p.publishSeq(t, "r:flush", 0, 3)
				srv.Do(t, "FLUSHALL")
				// Wait until Redis's clock is past the old IDs, as it is
				// after any real flush or data loss, then recreate the stream.
				eventually(t, "Redis clock past the old IDs", func() bool { return srv.Millis(t) > idMillis(t, old[2]) })
				p.publishSeq(t, "r:flush", 3, 2)
				return old[2]
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := tc.setup(t)
			s := harness.Subscribe(t, streamURL(g, tc.topics...), resumeFrom(from))
			ev := s.MustNext(t, waitFor)
			if ev.Name != "reset" {
				t.Fatalf("first event %+v, want a reset", ev)
			}
			var rd resetData
			if err := json.Unmarshal([]byte(ev.Data), &rd); err != nil {
				t.Fatalf("reset data %q: %v", ev.Data, err)
			}
			if rd.Reason != tc.reason || !slices.Equal(rd.Topics, tc.topics) {
				t.Fatalf("reset %+v, want reason %q topics %v", rd, tc.reason, tc.topics)
			}
			var now []string // the newest id of each topic
			for _, tp := range tc.topics {
				ids := streamIDs(t, srv, tp)
				now = append(now, ids[len(ids)-1])
			}
			if want := strings.Join(now, "_"); ev.ID != want {
				t.Fatalf("reset id %q, want %q (now)", ev.ID, want)
			}
			for i, tp := range tc.topics {
				id := p.publishSeq(t, tp, 9000, 1)[0]
				got := s.MustNext(t, waitFor)
				now[i] = id
				if want := strings.Join(now, "_"); got.Name != "message" || got.ID != want || dataOf(t, got).I != 9000 {
					t.Fatalf("after the reset got %+v, want live event %s", got, want)
				}
			}
		})
	}
}

// TestHistoryRecreatedBehind: Redis lost a topic's history, and the new
// history's IDs are not after those already delivered: it already holds
// events behind them, or it is still empty while Redis's clock is behind
// them (a Redis whose clock is behind the lost one's). Those events cannot
// follow the old ones on an open stream, nor be dropped silently: the
// gateway closes the topic's streams, and a client resuming from its old
// position is told with a reset, then gets live events.
func TestHistoryRecreatedBehind(t *testing.T) {
	tests := []struct {
		name string
		// recreate writes the new history and returns its newest ID.
		recreate func(t *testing.T, srv *redistest.Server, key string, lost streamid.ID) streamid.ID
	}{
		{"new events behind the old ones", func(t *testing.T, srv *redistest.Server, key string, lost streamid.ID) streamid.ID {
			id := streamid.ID{Ms: lost.Ms - 1000}
			srv.Do(t, "XADD", key, id.String(), "e", "", "t", "0", "d", `{"i":100}`)
			return id
		}},
		{"new history empty, Redis clock behind the old IDs", func(*testing.T, *redistest.Server, string, streamid.ID) streamid.ID {
			return streamid.Zero
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topic := fmt.Sprintf("behind%d", i)
			key := redisbroker.StreamKey(topic)
			srv, p, g := startStack(t)
			s := harness.Subscribe(t, streamURL(g, topic), nil)
			// The lost history: three events an hour ahead of Redis's
			// clock, written and published as the publish script does.
			ahead := uint64(time.Now().Add(time.Hour).UnixMilli())
			var old []string
			for j := range 3 {
				id := streamid.ID{Ms: ahead + uint64(j)}
				data := fmt.Sprintf(`{"topic":%q,"i":%d}`, topic, j)
				srv.Do(t, "XADD", key, id.String(), "e", "", "t", "0", "d", data)
				srv.Do(t, "PUBLISH", topic, string(envelope.Append(nil, id, time.Now(), "", []byte(data))))
				old = append(old, id.String())
			}
			sameIDs(t, "before the loss", eventIDs(collect(t, s, 3)), old)

			srv.Do(t, "DEL", key)
			newest := tc.recreate(t, srv, key, streamid.ID{Ms: ahead + 2})
			srv.Do(t, "CLIENT", "KILL", "TYPE", "pubsub") // the gateway resubscribes and backfills

			ev, err := s.Next(waitFor)
			if err == nil || errors.Is(err, harness.ErrTimeout) {
				t.Fatalf("open stream: got %+v, %v; want it closed", ev, err)
			}
			eventually(t, "connections_closed_total{reason=error} = 1", func() bool {
				return harness.Metric(t, g.Registry, "ssegate_gateway_connections_closed_total", "reason", "error") == 1
			})

			s2 := harness.Subscribe(t, streamURL(g, topic), resumeFrom(s.LastEventID()))
			reset := s2.MustNext(t, waitFor)
			var rd resetData
			if err := json.Unmarshal([]byte(reset.Data), &rd); err != nil || reset.Name != "reset" ||
				rd.Reason != "unknown_stream" || reset.ID != newest.String() {
				t.Fatalf("resumed from %s: got %+v, want a reset (unknown_stream) with id %s", s.LastEventID(), reset, newest)
			}
			live := p.publishSeq(t, topic, 4, 1)
			sameIDs(t, "live after the reset", eventIDs(collect(t, s2, 1)), live)
		})
	}
}

// TestReplayRacingPublishes: a client resumes from an old id while 1,000
// events are being published from several goroutines; what it receives is
// exactly the stream's history after its id — no gap, no duplicate — then
// live events.
func TestReplayRacingPublishes(t *testing.T) {
	tests := []struct {
		name string
		keep bool // another client keeps the topic subscribed on the gateway
	}{
		{"gateway subscribes on resume", false},
		{"gateway already subscribed", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const topic = "race"
			srv, p, g := startStack(t)
			if tc.keep {
				harness.Subscribe(t, streamURL(g, topic), nil)
			}
			old := p.publishSeq(t, topic, 0, 200)
			from := old[9]

			started := make(chan struct{})
			var once sync.Once
			done := make(chan error, 1)
			go func() {
				done <- p.publishMany(context.Background(), topic, 200, 1000, 4, func(n int) {
					if n >= 50 {
						once.Do(func() { close(started) })
					}
				})
			}()
			<-started // the resume below races the remaining publishes
			s := harness.Subscribe(t, streamURL(g, topic), resumeFrom(from))
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			want := after(t, streamIDs(t, srv, topic), from)
			if len(want) != 1190 {
				t.Fatalf("history has %d events after the resume point, want 1190", len(want))
			}
			sameIDs(t, "resumed client", eventIDs(collect(t, s, len(want))), want)
			live := p.publishSeq(t, topic, 5000, 1)
			sameIDs(t, "live after the race", eventIDs(collect(t, s, 1)), live)
		})
	}
}

// TestIdempotentPublish: a retry with the same Idempotency-Key returns the
// first answer (200, Idempotent-Replayed: true) and publishes nothing; the
// key reused for a different body is refused with 422.
func TestIdempotentPublish(t *testing.T) {
	srv, p, g := startStack(t)
	tests := []struct {
		name, path, topic, body, other string
	}{
		{"spool event without timestamp", "/publish", "spools:updates",
			`{"event_type":"TOMAR","tag_spool":"SP-7"}`, `{"event_type":"PAUSAR","tag_spool":"SP-7"}`},
		{"spool event with timestamp", "/publish", "spools:updates",
			`{"event_type":"TOMAR","tag_spool":"SP-8","timestamp":"2026-01-27T22:13:37Z"}`, `{"event_type":"TOMAR","tag_spool":"SP-9","timestamp":"2026-01-27T22:13:37Z"}`},
		{"generic event", "/v1/events", "orders",
			`{"topic":"orders","type":"created","data":{"n":1}}`, `{"topic":"orders","type":"created","data":{"n":2}}`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := harness.Subscribe(t, streamURL(g, tc.topic), nil)
			key := "key-" + string(rune('a'+i))
			before := len(streamIDs(t, srv, tc.topic))
			first := harness.Post(t, p.URL+tc.path, tc.body, "Idempotency-Key", key)
			if first.Status != http.StatusAccepted || first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first publish: %d %s (replayed header %q), want 202", first.Status, first.Body, first.Header.Get("Idempotent-Replayed"))
			}
			retry := harness.Post(t, p.URL+tc.path, tc.body, "Idempotency-Key", key)
			if retry.Status != http.StatusOK || retry.Header.Get("Idempotent-Replayed") != "true" ||
				retry.ID != first.ID || retry.Topic != first.Topic || retry.Receivers != first.Receivers {
				t.Fatalf("retry: %d %s (replayed header %q), want 200 with the first answer %s",
					retry.Status, retry.Body, retry.Header.Get("Idempotent-Replayed"), first.Body)
			}
			conflict := harness.Post(t, p.URL+tc.path, tc.other, "Idempotency-Key", key)
			var eb errorBody
			if conflict.Status != http.StatusUnprocessableEntity || json.Unmarshal(conflict.Body, &eb) != nil || eb.Error.Code == "" {
				t.Fatalf("key reused for another body: %d %s, want 422 with a JSON error", conflict.Status, conflict.Body)
			}
			if n := len(streamIDs(t, srv, tc.topic)) - before; n != 1 {
				t.Fatalf("XLEN grew by %d, want 1", n)
			}
			if ev := s.MustNext(t, waitFor); ev.ID != first.ID {
				t.Fatalf("client got %+v, want the one event %s", ev, first.ID)
			}
			marker := p.publishSeq(t, tc.topic, 1, 1)[0] // the next event is the marker: nothing else was sent
			if ev := s.MustNext(t, waitFor); ev.ID != marker {
				t.Fatalf("client got %+v after the one event, want the marker %s", ev, marker)
			}
		})
	}
}

// TestMultiTopicResume: a two-topic connection resumes from its composite
// id with exactly the events it missed on each topic, each in order, and
// every composite id carries the right position per topic.
func TestMultiTopicResume(t *testing.T) {
	srv, p, g := startStack(t)
	topics := []string{"mt:a", "mt:b"} // sorted: the order of id parts
	url := streamURL(g, "mt:b", "mt:a")
	s := harness.Subscribe(t, url, nil)
	a0 := p.publishSeq(t, "mt:a", 0, 1)[0]
	b0 := p.publishSeq(t, "mt:b", 0, 1)[0]
	collect(t, s, 2)
	last := s.LastEventID()
	if last != a0+"_"+b0 {
		t.Fatalf("composite id %q, want %s_%s", last, a0, b0)
	}
	s.Close()

	ids := map[string][]string{"mt:a": {a0}, "mt:b": {b0}}
	for i := 1; i <= 300; i++ {
		ids["mt:a"] = append(ids["mt:a"], p.publishSeq(t, "mt:a", i, 1)...)
		if i <= 200 {
			ids["mt:b"] = append(ids["mt:b"], p.publishSeq(t, "mt:b", i, 1)...)
		}
	}
	r := harness.Subscribe(t, url, resumeFrom(last))
	got := map[string][]string{}
	pos := []string{a0, b0}
	for _, ev := range collect(t, r, 500) {
		d := dataOf(t, ev)
		ti := slices.Index(topics, d.Topic)
		if ti < 0 || d.I >= len(ids[d.Topic]) {
			t.Fatalf("unexpected event %+v", ev)
		}
		pos[ti] = ids[d.Topic][d.I]
		if want := strings.Join(pos, "_"); ev.ID != want {
			t.Fatalf("event %s #%d has id %q, want %q", d.Topic, d.I, ev.ID, want)
		}
		got[d.Topic] = append(got[d.Topic], ids[d.Topic][d.I])
	}
	for _, tp := range topics {
		sameIDs(t, "missed on "+tp, got[tp], after(t, streamIDs(t, srv, tp), ids[tp][0]))
	}
	for i, tp := range topics {
		pos[i] = p.publishSeq(t, tp, 1000, 1)[0]
		if ev := r.MustNext(t, waitFor); ev.ID != strings.Join(pos, "_") {
			t.Fatalf("live on %s: id %q, want %q", tp, ev.ID, strings.Join(pos, "_"))
		}
	}
}

// TestResumeOnAnotherGateway: a client that reconnects to a different
// gateway process (same Redis) continues exactly where it left off.
func TestResumeOnAnotherGateway(t *testing.T) {
	tests := []struct {
		name string
		keep bool // the second gateway already serves the topic
	}{
		{"second gateway subscribes on resume", false},
		{"second gateway already subscribed", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const topic = "handover"
			srv := redistest.Start(t)
			p := startPublisher(t, srv, broker.HistoryConfig{})
			g1 := startGateway(t, srv, gateway.Config{})
			g2 := startGateway(t, srv, gateway.Config{})
			if tc.keep {
				harness.Subscribe(t, streamURL(g2, topic), nil)
			}
			s := harness.Subscribe(t, streamURL(g1, topic), nil)
			seen := p.publishSeq(t, topic, 0, 5)
			sameIDs(t, "on gateway 1", eventIDs(collect(t, s, 5)), seen)
			last := s.LastEventID()
			s.Close()
			p.publishConcurrently(t, topic, 5, 500, 4, nil)
			r := harness.Subscribe(t, streamURL(g2, topic), resumeFrom(last))
			want := after(t, streamIDs(t, srv, topic), last)
			sameIDs(t, "on gateway 2", eventIDs(collect(t, r, len(want))), want)
			live := p.publishSeq(t, topic, 1000, 2)
			sameIDs(t, "live on gateway 2", eventIDs(collect(t, r, 2)), live)
		})
	}
}
