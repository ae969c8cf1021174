package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ssegate/ssegate/client"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// publishN publishes n events on topic through the client and returns
// their ids.
func publishN(t *testing.T, pc *client.Publisher, topic string, from, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		res, err := pc.Publish(context.Background(), client.Event{Topic: topic, Data: map[string]int{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	return ids
}

func newPublisher(t *testing.T, url string) *client.Publisher {
	t.Helper()
	pc, err := client.NewPublisher(url, client.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// reader runs s.Next in a goroutine until ctx ends, handing events over
// a channel; stop cancels it and waits, after which s may be closed.
type reader struct {
	msgs   chan client.Message
	err    error // Next's final error, valid after stop
	cancel context.CancelFunc
	done   chan struct{}
}

func startReader(s *client.Subscription) *reader {
	ctx, cancel := context.WithCancel(context.Background())
	r := &reader{msgs: make(chan client.Message), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			m, err := s.Next(ctx)
			if err != nil {
				r.err = err
				return
			}
			select {
			case r.msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return r
}

func (r *reader) stop() {
	r.cancel()
	<-r.done
}

// recv returns the next n events, failing the test if they do not come.
func (r *reader) recv(t *testing.T, n int) []client.Message {
	t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	var out []client.Message
	for len(out) < n {
		select {
		case m := <-r.msgs:
			out = append(out, m)
		case <-r.done:
			t.Fatalf("after %d of %d events: Next: %v", len(out), n, r.err)
		case <-timeout.C:
			t.Fatalf("after %d of %d events: none within %v", len(out), n, waitFor)
		}
	}
	return out
}

// messageIDs checks every event is an ordinary message of topic and
// returns their ids.
func messageIDs(t *testing.T, ms []client.Message, topic string) []string {
	t.Helper()
	ids := make([]string, len(ms))
	for i, m := range ms {
		if m.Type != client.TypeMessage || m.Topic != topic {
			t.Fatalf("event %d: %+v, want a message of %s", i, m, topic)
		}
		ids[i] = m.ID
	}
	return ids
}

// sameIDs fails unless got is want: no gap, no duplicate, same order.
func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: ids %v, want %v", what, got, want)
	}
}

// waitConnections waits until the gateway holds n streams.
func waitConnections(t *testing.T, g *harness.Gateway, n float64) {
	t.Helper()
	harness.Eventually(t, waitFor, fmt.Sprintf("%v open streams", n), func() bool {
		return harness.Metric(t, g.Registry, "ssegate_gateway_connections") == n
	})
}

// TestSubscriptionResumesAcrossGatewayRestart: the gateway drains (the
// subscription surfaces shutdown), events are published while no gateway
// runs, the subscription's reconnects are refused until a new gateway
// listens on the same address, and then it gets exactly the events it
// missed, then live ones: no gap, no duplicate.
func TestSubscriptionResumesAcrossGatewayRestart(t *testing.T) {
	const topic = "orders"
	srv := redistest.Start(t)
	pc := newPublisher(t, startPublisher(t, srv).URL)
	ln := harness.Listen(t)
	addr := ln.Addr().String()
	g1 := startGatewayOn(t, ln, srv)

	rec := newRecorder(t)
	s, err := client.Subscribe(g1.URL, []string{topic},
		client.WithHTTPClient(&http.Client{Transport: rec}), client.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r := startReader(s)
	defer s.Close()
	defer r.stop()
	waitConnections(t, g1, 1)

	first := publishN(t, pc, topic, 0, 3)
	sameIDs(t, "before the restart", messageIDs(t, r.recv(t, 3), topic), first)
	if err := g1.Stop(t); err != nil {
		t.Fatalf("gateway stop: %v", err)
	}
	if m := r.recv(t, 1)[0]; m.Type != client.TypeShutdown {
		t.Fatalf("after the drain: %+v, want a shutdown event", m)
	}
	missed := publishN(t, pc, topic, 3, 5)
	rec.waitUntil(t, "a reconnect refused while no gateway runs", func(as []attempt) bool {
		return slices.ContainsFunc(as, func(a attempt) bool { return a.status == 0 })
	})
	startGatewayOn(t, harness.ListenAgain(t, addr), srv)
	sameIDs(t, "resumed", messageIDs(t, r.recv(t, 5), topic), missed)
	live := publishN(t, pc, topic, 8, 2)
	sameIDs(t, "live after the resume", messageIDs(t, r.recv(t, 2), topic), live)
	if got := s.LastEventID(); got != live[1] {
		t.Fatalf("LastEventID %q, want %q", got, live[1])
	}
}

// TestSubscriptionSurfacesReset: resuming from a position trimmed from
// the history gives a reset event naming the topic, then live events.
func TestSubscriptionSurfacesReset(t *testing.T) {
	const topic = "orders"
	srv := redistest.Start(t)
	pc := newPublisher(t, startPublisher(t, srv).URL)
	g := startGatewayOn(t, harness.Listen(t), srv)
	ids := publishN(t, pc, topic, 0, 3)
	srv.Do(t, "XTRIM", "ssegate:{"+topic+"}:history", "MAXLEN", "1")

	s, err := client.Subscribe(g.URL, []string{topic}, client.WithLastEventID(ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	r := startReader(s)
	defer s.Close()
	defer r.stop()
	m := r.recv(t, 1)[0]
	info, err := m.Reset()
	if err != nil || info.Reason != "trimmed" || !slices.Equal(info.Topics, []string{topic}) {
		t.Fatalf("first event %+v (%+v, %v), want a reset for %s, reason trimmed", m, info, err, topic)
	}
	live := publishN(t, pc, topic, 3, 1)
	sameIDs(t, "live after the reset", messageIDs(t, r.recv(t, 1), topic), live)
}

// TestSubscriptionRefusalIsTyped: a stream the gateway refuses with a 4xx
// ends Next with the *APIError, without reconnecting.
func TestSubscriptionRefusalIsTyped(t *testing.T) {
	srv := redistest.Start(t)
	g := startGatewayOn(t, harness.Listen(t), srv)
	s, err := client.Subscribe(g.URL, []string{"bad topic!"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err = s.Next(ctx)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Code != "invalid_topic" {
		t.Fatalf("Next: %v, want *APIError 400 invalid_topic", err)
	}
}

// TestSubscriptionMultiTopic: on a multi-topic stream each event names
// the topic whose position its id advanced.
func TestSubscriptionMultiTopic(t *testing.T) {
	srv := redistest.Start(t)
	pc := newPublisher(t, startPublisher(t, srv).URL)
	g := startGatewayOn(t, harness.Listen(t), srv)
	s, err := client.Subscribe(g.URL, []string{"b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	r := startReader(s)
	defer s.Close()
	defer r.stop()
	waitConnections(t, g, 1)
	publishN(t, pc, "b", 0, 1)
	publishN(t, pc, "a", 1, 1)
	ms := r.recv(t, 2)
	if ms[0].Topic != "b" || ms[1].Topic != "a" {
		t.Fatalf("events %+v, want one of b then one of a", ms)
	}
}
