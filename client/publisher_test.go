package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/client"
	"github.com/ssegate/ssegate/internal/redistest"
)

// TestPublishAcrossRedisRestart: a publish started while Redis is down is
// refused (503 + Retry-After), retried with the same Idempotency-Key, and
// succeeds once Redis is back: the topic's history holds exactly that one
// event.
func TestPublishAcrossRedisRestart(t *testing.T) {
	const topic = "orders"
	srv := redistest.Start(t)
	p := startPublisher(t, srv)
	rec := newRecorder(t)
	pc, err := client.NewPublisher(p.URL, client.WithHTTPClient(&http.Client{Transport: rec}),
		client.WithMaxAttempts(0), client.WithBackoff(20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	type outcome struct {
		res client.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := pc.Publish(ctx, client.Event{Topic: topic, Data: map[string]int{"n": 1}})
		done <- outcome{res, err}
	}()
	rec.waitUntil(t, "a publish refused while Redis is down", func(as []attempt) bool {
		return len(as) > 0 && as[len(as)-1].status == http.StatusServiceUnavailable
	})
	srv.Restart(t)
	out := <-done
	if out.err != nil {
		t.Fatalf("publish across the restart: %v", out.err)
	}
	as := rec.seen()
	for _, a := range as {
		if a.key != out.res.IdempotencyKey || a.key == "" {
			t.Fatalf("attempts %+v: every retry must carry the call's key %q", as, out.res.IdempotencyKey)
		}
	}
	if got := historyIDs(t, srv, topic); len(got) != 1 || got[0] != out.res.ID {
		t.Fatalf("history %v after %d attempts, want exactly [%s]", got, len(as), out.res.ID)
	}
}

// TestPublishLostAnswerIsNotRepeated: the publisher stored the event but
// its answer never reached the client; the retry carries the same key, so
// the publisher answers with the first result instead of storing a second
// event.
func TestPublishLostAnswerIsNotRepeated(t *testing.T) {
	const topic = "spools:updates"
	srv := redistest.Start(t)
	p := startPublisher(t, srv)
	rec := newRecorder(t)
	rec.loseNext = true
	pc, err := client.NewPublisher(p.URL, client.WithHTTPClient(&http.Client{Transport: rec}),
		client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res, err := pc.PublishSpool(context.Background(), client.SpoolEvent{EventType: "TOMAR", TagSpool: "MK-1", WorkerNombre: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Replayed || res.Topic != topic {
		t.Fatalf("result %+v, want the replayed answer of the first attempt on %s", res, topic)
	}
	if as := rec.seen(); len(as) != 2 || as[0].status != http.StatusAccepted || as[1].status != http.StatusOK || as[0].key != as[1].key {
		t.Fatalf("attempts %+v, want 202 (lost) then 200 with the same key", as)
	}
	if got := historyIDs(t, srv, topic); len(got) != 1 || got[0] != res.ID {
		t.Fatalf("history %v, want exactly [%s]", got, res.ID)
	}
}

// TestPublishRefusalIsTyped: a 4xx ends the call at once with an
// *APIError carrying the code; it is not retried.
func TestPublishRefusalIsTyped(t *testing.T) {
	srv := redistest.Start(t)
	p := startPublisher(t, srv)
	rec := newRecorder(t)
	pc, err := client.NewPublisher(p.URL, client.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pc.Publish(context.Background(), client.Event{Topic: "bad topic!", Data: 1})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Code != "invalid_topic" || apiErr.Message == "" {
		t.Fatalf("err = %v, want *APIError 400 invalid_topic", err)
	}
	if n := len(rec.seen()); n != 1 {
		t.Fatalf("%d attempts, want 1 (a 4xx is final)", n)
	}
}
