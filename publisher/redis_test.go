package publisher

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// startProgram runs NewProgram(cfg) on a free loopback port until the test
// ends, then stops it and waits for Run to return.
func startProgram(t *testing.T, cfg ProgramConfig) *testServer {
	t.Helper()
	p, err := NewProgram(cfg)
	if err != nil {
		t.Fatalf("NewProgram: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, ln) }()
	transport := &http.Transport{}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("publisher did not stop within 20s")
		}
	})
	return &testServer{URL: "http://" + ln.Addr().String(), client: &http.Client{Transport: transport, Timeout: 15 * time.Second}}
}

// TestRedisRefusalsPublishNothing checks, on a real Redis, that a refused
// request leaves the topic's history stream untouched (no half-published
// event), and that a replay appends nothing.
func TestRedisRefusalsPublishNothing(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	s := startProgram(t, ProgramConfig{RedisURL: rs.URL(), Config: Config{MaxBodyBytes: testMaxBody}})
	// The topics must be private to this test when Redis is shared (REDIS_ADDR).
	spoolKey := redisbroker.StreamKey(SpoolTopic)
	topic := "publisher-test:" + strings.ReplaceAll(t.Name(), "/", "-") + ":" + time.Now().Format("150405.000000000")
	genericKey := redisbroker.StreamKey(topic)
	xlen := func(key string) string { t.Helper(); return rs.Do(t, "XLEN", key) }
	spoolBefore := xlen(spoolKey)
	if got := xlen(genericKey); got != "0" {
		t.Fatalf("XLEN %s = %s before the test, want 0", genericKey, got)
	}
	first := wantPublished(t, s.post(t, "/v1/events", `{"topic":"`+topic+`","data":{"n":1}}`, map[string]string{"Idempotency-Key": "k1"}), http.StatusAccepted, topic)
	if got := xlen(genericKey); got != "1" {
		t.Fatalf("XLEN %s = %s after one publish, want 1", genericKey, got)
	}
	if got := rs.DoSlice(t, "XRANGE", genericKey, "-", "+"); len(got) == 0 || got[0] != first.ID || !strings.Contains(strings.Join(got, " "), `{"n":1}`) {
		t.Errorf("XRANGE %s = %q, want the event %s with its data", genericKey, got, first.ID)
	}
	refusals := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"malformed", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":`}, 400, "invalid_json"},
		{"duplicate key", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":{"a":1,"a":2}}`}, 400, "duplicate_key"},
		{"too deep", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":` + nested(40) + `}`}, 400, "too_deep"},
		{"trailing data", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":1} {}`}, 400, "invalid_json"},
		{"too large", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":"` + strings.Repeat("x", testMaxBody) + `"}`}, 413, "body_too_large"},
		{"too large chunked", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":"` + strings.Repeat("x", testMaxBody) + `"}`, chunked: true}, 413, "body_too_large"},
		{"wrong content type", request{path: "/v1/events", contentType: "text/plain", body: `{"topic":"` + topic + `","data":1}`}, 415, "unsupported_media_type"},
		{"bad idempotency key", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":1}`, header: map[string]string{"Idempotency-Key": "a b"}}, 400, "invalid_idempotency_key"},
		{"key reused", request{path: "/v1/events", body: `{"topic":"` + topic + `","data":{"n":2}}`, header: map[string]string{"Idempotency-Key": "k1"}}, 422, "idempotency_key_reused"},
		{"spool missing tag", request{path: "/publish", body: `{"event_type":"TOMAR"}`}, 400, "missing_field"},
		{"spool case variant", request{path: "/publish", body: `{"event_type":"TOMAR","tag_spool":"x","TAG_SPOOL":"y"}`}, 400, "unknown_field"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, s.do(t, tc.req), tc.status, tc.code)
			if got := xlen(genericKey); got != "1" {
				t.Errorf("XLEN %s = %s after a refusal, want 1", genericKey, got)
			}
			if got := xlen(spoolKey); got != spoolBefore {
				t.Errorf("XLEN %s = %s after a refusal, want %s", spoolKey, got, spoolBefore)
			}
		})
	}
	replay := s.post(t, "/v1/events", `{"topic":"`+topic+`","data":{"n":1}}`, map[string]string{"Idempotency-Key": "k1"})
	if got := wantPublished(t, replay, http.StatusOK, topic); got.ID != first.ID || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay answered id %s (Idempotent-Replayed %q), want %s, true", got.ID, replay.header.Get("Idempotent-Replayed"), first.ID)
	}
	if got := xlen(genericKey); got != "1" {
		t.Errorf("XLEN %s = %s after a replay, want 1", genericKey, got)
	}
	// A keyed spool event without a timestamp, retried later on the real
	// clock: the filled-in timestamp differs, the request does not.
	key := map[string]string{"Idempotency-Key": topic}
	spool := `{"event_type":"TOMAR","tag_spool":"` + topic + `"}`
	firstSpool := wantPublished(t, s.post(t, "/publish", spool, key), http.StatusAccepted, SpoolTopic)
	afterFirst := xlen(spoolKey)
	if got := wantPublished(t, s.post(t, "/publish", spool, key), http.StatusOK, SpoolTopic); got.ID != firstSpool.ID {
		t.Errorf("spool replay answered id %s, want %s", got.ID, firstSpool.ID)
	}
	if got := xlen(spoolKey); got != afterFirst {
		t.Errorf("XLEN %s = %s after a spool replay, want %s", spoolKey, got, afterFirst)
	}
}

// TestRedisDown checks that with Redis stopped a publish is refused with
// 503, Retry-After and a JSON error (nothing published, the caller is told
// to retry), and that publishing works again once Redis is back.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	if !rs.Restartable() {
		t.Skip("needs a Redis the test can stop (not REDIS_ADDR or a container)")
	}
	s := startProgram(t, ProgramConfig{RedisURL: rs.URL(), Config: Config{RetryAfter: 2 * time.Second, PublishTimeout: 3 * time.Second}})
	spool := `{"event_type":"TOMAR","tag_spool":"SP-1"}`
	generic := `{"topic":"orders:1","data":{"n":1}}`
	wantPublished(t, s.post(t, "/publish", spool, nil), http.StatusAccepted, SpoolTopic)

	rs.Stop(t)
	for _, req := range []request{
		{path: "/publish", body: spool},
		{path: "/v1/events", body: generic},
		{path: "/publish", body: spool, header: map[string]string{"Idempotency-Key": "while-down"}},
	} {
		start := time.Now()
		r := s.do(t, req)
		wantError(t, r, http.StatusServiceUnavailable, "redis_unavailable")
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Errorf("%s: Retry-After %q, want 2", req.path, got)
		}
		if took := time.Since(start); took > 4*time.Second {
			t.Errorf("%s: the 503 took %v, want it within the publish timeout", req.path, took)
		}
	}
	ready, err := s.client.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d with Redis down, want 503", ready.StatusCode)
	}

	rs.Restart(t) // empty again: persistence is off
	// The client reconnects by itself, one pooled connection at a time: an
	// idle connection to the killed server is noticed only when next used
	// (EOF, another 503). Retry 503s as a caller would; the exact XLEN
	// checks below prove none of them published anything.
	wantPublished(t, s.postUntilServed(t, "/publish", spool, nil), http.StatusAccepted, SpoolTopic)
	if got := rs.Do(t, "XLEN", redisbroker.StreamKey(SpoolTopic)); got != "1" {
		t.Errorf("XLEN = %s after Redis came back, want 1", got)
	}
	key := map[string]string{"Idempotency-Key": "while-down"}
	first := wantPublished(t, s.postUntilServed(t, "/publish", spool, key), http.StatusAccepted, SpoolTopic)
	if got := wantPublished(t, s.postUntilServed(t, "/publish", spool, key), http.StatusOK, SpoolTopic); got.ID != first.ID {
		t.Errorf("replay answered id %s, want %s", got.ID, first.ID)
	}
	wantPublished(t, s.postUntilServed(t, "/v1/events", generic, nil), http.StatusAccepted, "orders:1")
	if got := rs.Do(t, "XLEN", redisbroker.StreamKey(SpoolTopic)); got != "2" {
		t.Errorf("XLEN = %s, want 2", got)
	}
	if got := rs.Do(t, "XLEN", redisbroker.StreamKey("orders:1")); got != "1" {
		t.Errorf("XLEN orders:1 = %s, want 1", got)
	}
}

// postUntilServed posts until the answer is not a 503, for at most 15 s.
func (s *testServer) postUntilServed(t *testing.T, path, body string, header map[string]string) reply {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var r reply
	for attempt := 0; attempt < 500; attempt++ {
		if r = s.post(t, path, body, header); r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return r
		}
		<-tick.C
	}
	return r
}
