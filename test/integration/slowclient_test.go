//go:build unix

package integration

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// slowStream is an SSE connection that nobody reads until readToEnd: a
// client that pauses, with a small socket receive buffer so the pause
// reaches the server quickly.
type slowStream struct {
	resp *http.Response
}

// openSlow connects with SO_RCVBUF set to rcvbuf bytes and returns once
// the response headers arrived; the body is not read.
func openSlow(t testing.TB, url string, rcvbuf int) *slowStream {
	t.Helper()
	tr := &http.Transport{DialContext: harness.RcvBufDialer(rcvbuf).DialContext, DisableCompression: true}
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitFor)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		tr.CloseIdleConnections()
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return &slowStream{resp: resp}
}

// readToEnd reads until the server ends the stream and returns the events
// dispatched and the last event id, both as EventSource keeps them (WHATWG
// HTML §9.2.6): an event counts, and its id becomes the last event id, only
// at its terminating blank line, so an event cut off by the disconnection
// is discarded, id included.
func (s *slowStream) readToEnd() (events []harness.Event, lastID string, err error) {
	err = harness.ReadEvents(s.resp.Body, harness.Handler{
		Dispatch: func(id string) { lastID = id },
		Event:    func(ev harness.Event) { events = append(events, ev) },
	})
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	return events, lastID, err
}

// TestSlowClientEvictedResumesExactlyOnce: a client that stops reading is
// evicted (its queue fills, or a write times out) instead of slowing the
// others; reconnecting with its last id, as a browser does, it ends up with
// every event exactly once, in order.
func TestSlowClientEvictedResumesExactlyOnce(t *testing.T) {
	tests := []struct {
		name string
		cfg  gateway.Config
		// reason is the clients_evicted_total label expected; "" accepts
		// any. A full queue only ends the stream once the write the
		// writer is blocked in returns, so it is counted as send_timeout
		// when that write hits its deadline.
		reason  string
		dropped bool // the queue must have overflowed
		// control adds a client that keeps reading and must get everything
		// on its first connection; only with a queue a fast reader never
		// fills under the race detector.
		control bool
	}{
		{name: "queue full", cfg: gateway.Config{QueueSize: 8, SendTimeout: 2 * time.Second}, dropped: true},
		{name: "send timeout", cfg: gateway.Config{SendTimeout: 300 * time.Millisecond}, reason: "send_timeout", control: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const topic = "slow"
			srv := redistest.Start(t)
			p := startPublisher(t, srv, broker.HistoryConfig{})
			p.pad = strings.Repeat("x", 4096)
			g := startGateway(t, srv, tc.cfg)
			var fast *harness.Stream
			if tc.control {
				fast = harness.Subscribe(t, streamURL(g, topic), nil)
			}
			slow := openSlow(t, streamURL(g, topic), 4096)
			evicted := func() float64 {
				var labels []string
				if tc.reason != "" {
					labels = []string{"reason", tc.reason}
				}
				return harness.Metric(t, g.Registry, "ssegate_gateway_clients_evicted_total", labels...)
			}

			// Publish in batches until the gateway evicts the paused client
			// (bounded: 80 batches of 1 MiB, far more than socket buffers).
			published := 0
			for batch := 0; evicted() == 0; batch++ {
				if batch == 80 {
					t.Fatalf("no eviction (%q) after %d events", tc.reason, published)
				}
				p.publishConcurrently(t, topic, published, 250, 4, nil)
				published += 250
			}
			p.publishConcurrently(t, topic, published, 20, 1, nil) // missed while away
			published += 20

			all := streamIDs(t, srv, topic)
			if len(all) != published {
				t.Fatalf("history holds %d events, published %d", len(all), published)
			}
			if fast != nil {
				sameIDs(t, "the client that kept reading", eventIDs(collect(t, fast, published)), all)
			}
			first, lastID, err := slow.readToEnd()
			if err != nil {
				t.Fatalf("reading the evicted stream: %v", err)
			}
			if lastID == "" || len(first) == 0 || len(first) >= published {
				t.Fatalf("evicted client got %d of %d events (last id %q): want some but not all", len(first), published, lastID)
			}
			resumed := harness.Subscribe(t, streamURL(g, topic), resumeFrom(lastID))
			rest := collect(t, resumed, len(after(t, all, lastID)))
			sameIDs(t, "evicted client, before and after reconnecting", append(eventIDs(first), eventIDs(rest)...), all)
			if n := evicted(); n != 1 {
				t.Fatalf("%v evictions (%q), want only the paused client", n, tc.reason)
			}
			if d := harness.Metric(t, g.Registry, "ssegate_gateway_queue_dropped_events_total"); tc.dropped && d == 0 {
				t.Fatal("the paused client's queue never overflowed")
			}
		})
	}
}
