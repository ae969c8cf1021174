package integration

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// pagesEvents is more than two history pages (the gateway reads 1,000
// events per page), so a resume from the first event crosses two page
// boundaries and ends in a partial page.
const pagesEvents = 2500

// TestResumeAcrossHistoryPages: a client resuming from the first of 2,500
// events gets exactly the 2,499 after it, in order, then a live event, on
// both brokers. A resume that stopped after one page (or repeated the last
// event of a page) fails here deterministically: nothing depends on
// timing, the events are all in history before the client reconnects.
func TestResumeAcrossHistoryPages(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		const topic = "resume:pages"
		srv := redistest.Start(t)
		p := startPublisher(t, srv, broker.HistoryConfig{MaxLen: 10 * pagesEvents})
		g := startGateway(t, srv, gateway.Config{})
		p.publishConcurrently(t, topic, 0, pagesEvents, 4, nil)
		ids := streamIDs(t, srv, topic)
		if len(ids) != pagesEvents {
			t.Fatalf("history holds %d events, want %d", len(ids), pagesEvents)
		}
		live := func() string { return p.publishSeq(t, topic, pagesEvents, 1)[0] }
		resumeAcrossPages(t, g, topic, ids, live)
	})
	t.Run("embedded", func(t *testing.T) {
		const topic = "resume:pages"
		g := harness.StartGateway(t, gateway.ProgramConfig{
			Config:        gateway.Config{QueueSize: 1 << 14, PingInterval: time.Second},
			History:       broker.HistoryConfig{MaxLen: 10 * pagesEvents},
			ShutdownGrace: 5 * time.Second,
		})
		harness.WaitHTTP(t, g.URL+"/readyz", http.StatusOK)
		publish := func(i int) string {
			r, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
				Topic: topic, Data: []byte(`{"i":` + strconv.Itoa(i) + `}`), AcceptedAt: time.Now(),
			})
			if err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
			return r.ID.String()
		}
		ids := make([]string, 0, pagesEvents)
		for i := range pagesEvents {
			ids = append(ids, publish(i))
		}
		resumeAcrossPages(t, g, topic, ids, func() string { return publish(pagesEvents) })
	})
}

// resumeAcrossPages resumes a client from ids[0] and checks it gets
// exactly ids[1:], then the event publishLive publishes.
func resumeAcrossPages(t *testing.T, g *harness.Gateway, topic string, ids []string, publishLive func() string) {
	t.Helper()
	s := harness.Subscribe(t, streamURL(g, topic), resumeFrom(ids[0]))
	got := collect(t, s, len(ids)-1)
	sameIDs(t, "resume from the first event", eventIDs(got), ids[1:])
	for i, ev := range got {
		if ev.Name != "message" {
			t.Fatalf("event %d (%s) is %q, want a message (no reset)", i, ev.ID, ev.Name)
		}
	}
	want := publishLive()
	if ev := s.MustNext(t, waitFor); ev.ID != want {
		t.Fatalf("live event after the resume: %q, want %q", ev.ID, want)
	}
	if n := harness.Metric(t, g.Registry, "ssegate_gateway_events_replayed_total"); n != float64(len(ids)-1) {
		t.Fatalf("events_replayed_total = %v, want %d", n, len(ids)-1)
	}
}
