package integration

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// TestStreamDeliversPublishedAndRaw: a client on the default topic gets a
// spool event POSTed to the publisher (with its id and the old system's
// fields, the timestamp filled in when absent) and a legacy raw PUBLISH
// (data only, no id, so the browser's last id is kept).
func TestStreamDeliversPublishedAndRaw(t *testing.T) {
	srv, p, g := startStack(t)
	s := harness.Subscribe(t, streamURL(g), nil)

	tests := []struct {
		name string
		body string
		want map[string]any // expected data fields; timestamp "" = filled by the publisher
	}{
		{
			name: "timestamp filled",
			body: `{"event_type":"TOMAR","tag_spool":"SP-001","worker_nombre":"Ana"}`,
			want: map[string]any{"event_type": "TOMAR", "tag_spool": "SP-001", "worker_nombre": "Ana", "estado_detalle": nil, "timestamp": ""},
		},
		{
			name: "timestamp kept",
			body: `{"event_type":"COMPLETAR","tag_spool":"SP-002","estado_detalle":"listo","timestamp":"2026-01-27T22:13:37Z"}`,
			want: map[string]any{"event_type": "COMPLETAR", "tag_spool": "SP-002", "worker_nombre": nil, "estado_detalle": "listo", "timestamp": "2026-01-27T22:13:37Z"},
		},
	}
	var lastID string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			r := harness.Post(t, p.URL+"/publish", tc.body)
			if r.Status != http.StatusAccepted || r.ID == "" || r.Topic != "spools:updates" || r.Receivers != 1 {
				t.Fatalf("POST /publish: %d %s, want 202 with an id on spools:updates reaching 1 gateway", r.Status, r.Body)
			}
			ev := s.MustNext(t, waitFor)
			if ev.ID != r.ID || ev.Name != "message" {
				t.Fatalf("event id %q name %q, want id %q name message", ev.ID, ev.Name, r.ID)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
				t.Fatalf("data %q: %v", ev.Data, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("data %s has %d fields, want %d", ev.Data, len(got), len(tc.want))
			}
			for k, want := range tc.want {
				v, ok := got[k]
				if !ok {
					t.Fatalf("data %s lacks %q", ev.Data, k)
				}
				if k == "timestamp" && want == "" {
					ts, isString := v.(string)
					at, err := time.Parse(time.RFC3339Nano, ts)
					if !isString || err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
						t.Fatalf("filled timestamp %v: want an RFC 3339 time of the publish (%v)", v, err)
					}
					continue
				}
				if v != want {
					t.Fatalf("data field %q = %#v, want %#v", k, v, want)
				}
			}
			lastID = r.ID
		})
	}

	t.Run("raw publish", func(t *testing.T) {
		if got := srv.Do(t, "PUBLISH", "spools:updates", `{"x":1}`); got != "1" {
			t.Fatalf("PUBLISH reached %s subscribers, want the 1 gateway", got)
		}
		ev := s.MustNext(t, waitFor)
		if ev.ID != "" || ev.Name != "message" || ev.Data != `{"x":1}` {
			t.Fatalf("raw event %+v, want data {\"x\":1} without id", ev)
		}
		if s.LastEventID() != lastID {
			t.Fatalf("last event id %q after a raw event, want the previous %q", s.LastEventID(), lastID)
		}
	})
}

// TestOneSubscriptionPerProcess: Redis sees one subscriber per gateway
// process, however many clients it serves, and none once they are gone.
func TestOneSubscriptionPerProcess(t *testing.T) {
	const topic = "spools:updates"
	srv := redistest.Start(t)
	p := startPublisher(t, srv, broker.HistoryConfig{})
	g1 := startGateway(t, srv, gateway.Config{})
	g2 := startGateway(t, srv, gateway.Config{})

	first := make([]*harness.Stream, 100)
	for i := range first {
		first[i] = harness.Subscribe(t, streamURL(g1), nil)
	}
	if n := srv.NumSub(t, topic); n != 1 {
		t.Fatalf("NUMSUB with 100 clients on one gateway = %d, want 1", n)
	}
	id := p.publishSeq(t, topic, 0, 1)[0]
	for i, s := range first {
		if ev := s.MustNext(t, waitFor); ev.ID != id {
			t.Fatalf("client %d got %q, want %s", i, ev.ID, id)
		}
	}

	second := make([]*harness.Stream, 10)
	for i := range second {
		second[i] = harness.Subscribe(t, streamURL(g2), nil)
	}
	if n := srv.NumSub(t, topic); n != 2 {
		t.Fatalf("NUMSUB with two gateways = %d, want 2", n)
	}

	for _, s := range first[1:] {
		s.Close()
	}
	eventually(t, "99 streams closed on gateway 1", func() bool {
		return harness.Metric(t, g1.Registry, "ssegate_gateway_connections") == 1
	})
	if n := srv.NumSub(t, topic); n != 2 {
		t.Fatalf("NUMSUB with one client left on gateway 1 = %d, want 2", n)
	}
	first[0].Close()
	eventually(t, "gateway 1 unsubscribed", func() bool { return srv.NumSub(t, topic) == 1 })
	for _, s := range second {
		s.Close()
	}
	eventually(t, "gateway 2 unsubscribed", func() bool { return srv.NumSub(t, topic) == 0 })
	for i, g := range []*harness.Gateway{g1, g2} {
		if n := harness.Metric(t, g.Registry, "ssegate_gateway_topics"); n != 0 {
			t.Fatalf("gateway %d still counts %v topics", i+1, n)
		}
	}
}

// TestRedisOutage: while Redis is down new streams and publishes get 503
// with Retry-After and a JSON body, readiness fails, nothing is published,
// and the streams already open stay open; once Redis is back readiness
// recovers and new streams get the events published after it returned.
func TestRedisOutage(t *testing.T) {
	const topic = "outage"
	srv, p, g := startStack(t)
	open := openReceiving(t, p, g, topic)

	srv.Stop(t)
	waitReadyz(t, g, "gateway not ready", http.StatusServiceUnavailable)
	status, h, body := httpGet(t, g.URL+"/readyz")
	checkUnavailable(t, "gateway /readyz", status, h, body, "redis_unavailable")
	for _, tp := range []string{topic, "fresh-topic"} {
		status, h, body := httpGet(t, streamURL(g, tp))
		checkUnavailable(t, "new stream on "+tp, status, h, body, "redis_unavailable")
	}
	if n := harness.Metric(t, g.Registry, "ssegate_gateway_connections_rejected_total", "reason", "redis_unavailable"); n < 2 {
		t.Fatalf("rejected{redis_unavailable} = %v, want at least 2", n)
	}
	for _, path := range []string{"/v1/events", "/publish"} {
		body := `{"topic":"outage","data":{"lost":true}}`
		if path == "/publish" {
			body = `{"event_type":"TOMAR","tag_spool":"SP-9"}`
		}
		r := harness.Post(t, p.URL+path, body)
		checkUnavailable(t, "POST "+path, r.Status, r.Header, r.Body, "redis_unavailable")
	}
	status, h, body = httpGet(t, p.URL+"/readyz")
	checkUnavailable(t, "publisher /readyz", status, h, body, "redis_unavailable")
	select {
	case <-open.Done():
		t.Fatal("the open stream was closed by the outage")
	default:
	}

	srv.Restart(t)
	waitReadyz(t, g, "gateway ready again", http.StatusOK)
	harness.WaitHTTP(t, p.URL+"/readyz", http.StatusOK)
	fresh := harness.Subscribe(t, streamURL(g, topic), nil)
	id1 := p.publishRetrying(t, topic, 1)
	for name, s := range map[string]*harness.Stream{"new": fresh, "open": open} {
		ev, err := s.Next(waitFor)
		if err != nil {
			t.Fatalf("after the outage the %s stream ended (%v): %s", name, err, evictionBug)
		}
		if ev.ID != id1 || dataOf(t, ev).I != 1 {
			t.Fatalf("after the outage the %s stream got %+v, want event 1 (%s)", name, ev, id1)
		}
	}
	if got := streamIDs(t, srv, topic); len(got) != 1 || got[0] != id1 {
		t.Fatalf("history after the outage = %v, want only %s: a refused publish must publish nothing", got, id1)
	}
}

// openReceiving opens a stream on topic at g and checks that it receives
// an event published through p: the stream open before an outage.
func openReceiving(t *testing.T, p *pub, g *harness.Gateway, topic string) *harness.Stream {
	t.Helper()
	open := harness.Subscribe(t, streamURL(g, topic), nil)
	id0 := p.publishSeq(t, topic, 0, 1)[0]
	if ev := open.MustNext(t, waitFor); ev.ID != id0 {
		t.Fatalf("before the outage: got %q, want %s", ev.ID, id0)
	}
	return open
}

// waitReadyz polls g's /readyz until it answers status (bounded by
// waitFor; Redis health is checked in the background).
func waitReadyz(t *testing.T, g *harness.Gateway, what string, status int) {
	t.Helper()
	eventually(t, what, func() bool {
		got, _, _ := httpGet(t, g.URL+"/readyz")
		return got == status
	})
}

// evictionBug explains the known failure of the restart tests.
const evictionBug = "the gateway's backfill after resubscribing (gateway/feed.go) evicts every client of a topic " +
	"whose history is gone (unknown_stream), which is always the case after Redis restarts without persistence"

// ended reports whether the server ended s (without consuming events).
func ended(s *harness.Stream) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// TestOpenStreamSurvivesRedisRestart: a stream open before Redis crashed
// (losing its data) stays open after Redis is back and receives the events
// published after that — the gateway must not evict it because the topic's
// history is gone. Both orders are covered: Redis back with the topic still
// empty when the gateway resubscribes, and events published before it does.
func TestOpenStreamSurvivesRedisRestart(t *testing.T) {
	const topic = "restart"
	srv, p, g := startStack(t)
	open := openReceiving(t, p, g, topic)
	srv.Stop(t)
	waitReadyz(t, g, "gateway not ready", http.StatusServiceUnavailable)
	srv.Restart(t)
	waitReadyz(t, g, "gateway ready again", http.StatusOK)
	eventually(t, "gateway resubscribed (or the open stream closed)", func() bool {
		return srv.NumSub(t, topic) == 1 || ended(open)
	})
	if ended(open) {
		t.Fatal("the stream open before the outage was closed after Redis came back: " + evictionBug)
	}
	ids := []string{p.publishRetrying(t, topic, 1), p.publishRetrying(t, topic, 2), p.publishRetrying(t, topic, 3)}
	got := make([]string, 0, len(ids))
	for len(got) < len(ids) {
		ev, err := open.Next(waitFor)
		if err != nil {
			t.Fatalf("the stream open before the outage ended after Redis came back (%v) with %d of %d events: %s",
				err, len(got), len(ids), evictionBug)
		}
		got = append(got, ev.ID)
	}
	sameIDs(t, "the stream open before the outage", got, ids)
}
