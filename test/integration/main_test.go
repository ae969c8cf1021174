// Package integration runs ssegate's real gateway and publisher programs
// against a real redis-server (internal/redistest) and checks, event by
// event and id by id, the behaviour the project promises: one Redis
// subscription per gateway process, 503s while Redis is down, and resume
// from Last-Event-ID without gaps or duplicates.
//
// Run with REQUIRE_REDIS=1 so a missing Redis fails instead of skipping:
//
//	REQUIRE_REDIS=1 go test -race -count=1 ./test/integration/
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every single wait (an event, a condition) in this package.
const waitFor = 20 * time.Second

// pub is a running publisher program and an HTTP client for it that any
// goroutine may use (the harness's helpers may only fail the test from the
// test's own goroutine).
type pub struct {
	*harness.Publisher
	hc *http.Client
	// pad, set before publishing, is added to every event's data to make
	// events large (slow-client tests fill socket buffers with them).
	pad string
}

// startPublisher runs the publisher program on srv with hist.
func startPublisher(t testing.TB, srv *redistest.Server, hist broker.HistoryConfig) *pub {
	t.Helper()
	// A generous Redis deadline: on a loaded 2-core machine under -race a
	// publish can exceed the 5 s default, and these tests are not about it.
	cfg := publisher.ProgramConfig{RedisURL: srv.URL(), History: hist}
	cfg.PublishTimeout = waitFor
	p := harness.StartPublisher(t, cfg)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &pub{Publisher: p, hc: harness.Checked(t, &http.Client{Transport: tr, Timeout: 2 * waitFor})}
}

// startGateway runs the gateway program on srv. Unset timings get short
// test values so keepalives and timeouts never make a test wait long.
func startGateway(t testing.TB, srv *redistest.Server, cfg gateway.Config) *harness.Gateway {
	t.Helper()
	if cfg.PingInterval == 0 {
		cfg.PingInterval = time.Second
	}
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = 5 * time.Second
	}
	if cfg.Retry == 0 {
		cfg.Retry = 100 * time.Millisecond
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 1 << 14 // bursts of a few thousand events must not evict
	}
	g := harness.StartGateway(t, gateway.ProgramConfig{
		Config: cfg, RedisURL: srv.URL(), ShutdownGrace: 5 * time.Second,
	})
	// Streams are refused (503) until the subscription connection is up.
	harness.WaitHTTP(t, g.URL+"/readyz", http.StatusOK)
	return g
}

// startStack starts the deployment most tests need: a Redis, a publisher
// with the default history settings and a gateway with test timings.
func startStack(t testing.TB) (*redistest.Server, *pub, *harness.Gateway) {
	t.Helper()
	srv := redistest.Start(t)
	return srv, startPublisher(t, srv, broker.HistoryConfig{}), startGateway(t, srv, gateway.Config{})
}

// streamURL is the stream route for topics (none: the default topic).
func streamURL(g *harness.Gateway, topics ...string) string {
	q := url.Values{}
	for _, tp := range topics {
		q.Add("topic", tp)
	}
	if len(q) == 0 {
		return g.URL + "/api/sse/stream"
	}
	return g.URL + "/api/sse/stream?" + q.Encode()
}

// resumeFrom is the header a browser sends when it reconnects.
func resumeFrom(id string) http.Header {
	return http.Header{"Last-Event-Id": {id}}
}

// payload is the data of every event the tests publish.
type payload struct {
	Topic string `json:"topic"`
	I     int    `json:"i"`
	Pad   string `json:"pad,omitempty"`
}

// post publishes one event on /v1/events and returns its id.
func (p *pub) post(ctx context.Context, ev payload, headers ...string) (id string, status int, err error) {
	if ev.Pad == "" {
		ev.Pad = p.pad
	}
	body, err := json.Marshal(map[string]any{"topic": ev.Topic, "data": ev})
	if err != nil {
		return "", 0, fmt.Errorf("marshal: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("POST: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", resp.StatusCode, fmt.Errorf("publish %s #%d: %d %s", ev.Topic, ev.I, resp.StatusCode, raw)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", resp.StatusCode, fmt.Errorf("publish answer %s: %w", raw, err)
	}
	if out.ID == "" {
		return "", resp.StatusCode, fmt.Errorf("publish answer %s: no id", raw)
	}
	return out.ID, resp.StatusCode, nil
}

// publishSeq publishes events from..from+n-1 on topic one after another and
// returns their ids in order.
func (p *pub) publishSeq(t testing.TB, topic string, from, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		id, _, err := p.post(context.Background(), payload{Topic: topic, I: i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// publishRetrying publishes one event like a client that honours 503 +
// Retry-After (without the wait: a few quick attempts), for the moments
// right after a Redis restart when each stale pooled connection of the
// publisher fails one command. A 503 publishes nothing, so ids stay exact.
func (p *pub) publishRetrying(t testing.TB, topic string, i int) string {
	t.Helper()
	var last error
	for range 20 {
		id, status, err := p.post(context.Background(), payload{Topic: topic, I: i})
		if err == nil {
			return id
		}
		if status != http.StatusServiceUnavailable {
			t.Fatal(err)
		}
		last = err
	}
	t.Fatalf("still refused after 20 attempts: %v", last)
	return ""
}

// publishMany publishes events from..from+n-1 on topic from workers
// goroutines and returns once every publish answered, with their errors.
// every, when not nil, is called after each publish with the running count;
// it may be called from several goroutines at once. It never fails the
// test, so it may run outside the test's goroutine.
func (p *pub) publishMany(ctx context.Context, topic string, from, n, workers int, every func(done int)) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count int
		errs  []error
	)
	next := make(chan int, n)
	for i := from; i < from+n; i++ {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, _, err := p.post(ctx, payload{Topic: topic, I: i})
				mu.Lock()
				count++
				c := count
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
				if every != nil {
					every(c)
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d publishes failed: %w", len(errs), n, errors.Join(errs...))
	}
	return nil
}

// publishConcurrently is publishMany that fails the test on any error.
func (p *pub) publishConcurrently(t testing.TB, topic string, from, n, workers int, every func(done int)) {
	t.Helper()
	if err := p.publishMany(context.Background(), topic, from, n, workers, every); err != nil {
		t.Fatal(err)
	}
}

// collect reads n events from s, failing the test if one does not come.
func collect(t testing.TB, s *harness.Stream, n int) []harness.Event {
	t.Helper()
	out := make([]harness.Event, 0, n)
	for len(out) < n {
		ev, err := s.Next(waitFor)
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, ev)
	}
	return out
}

// eventIDs returns the id field of each event.
func eventIDs(evs []harness.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// sameIDs fails the test unless got is exactly want: no gap, no
// duplicate, same order. It names the first difference.
func sameIDs(t testing.TB, what string, got, want []string) {
	t.Helper()
	seen := make(map[string]int, len(got))
	for i, id := range got {
		if j, dup := seen[id]; dup {
			t.Fatalf("%s: id %s delivered twice (at %d and %d)", what, id, j, i)
		}
		seen[id] = i
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: event %d has id %s, want %s (got %d events, want %d)", what, i, got[i], want[i], len(got), len(want))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %d events, want %d", what, len(got), len(want))
	}
}

// dataOf decodes an event's data as a payload.
func dataOf(t testing.TB, ev harness.Event) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal([]byte(ev.Data), &p); err != nil {
		t.Fatalf("event %s data %q: %v", ev.ID, ev.Data, err)
	}
	return p
}

// streamIDs is the full id list of topic's history, from XRANGE.
func streamIDs(t testing.TB, srv *redistest.Server, topic string) []string {
	t.Helper()
	r, err := srv.Exec(context.Background(), "XRANGE", "ssegate:{"+topic+"}:history", "-", "+")
	if err != nil {
		t.Fatalf("XRANGE %s: %v", topic, err)
	}
	ids := make([]string, len(r.Elems))
	for i, e := range r.Elems {
		if len(e.Elems) == 0 {
			t.Fatalf("XRANGE %s: entry %d has no id", topic, i)
		}
		ids[i] = e.Elems[0].Str
	}
	return ids
}

// after returns the ids in list that follow id.
func after(t testing.TB, list []string, id string) []string {
	t.Helper()
	for i, x := range list {
		if x == id {
			return list[i+1:]
		}
	}
	t.Fatalf("id %s is not in the list of %d", id, len(list))
	return nil
}

// eventually polls cond (state outside the test: Redis, metrics, HTTP)
// until it holds, failing the test at the deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	harness.Eventually(t, waitFor, what, cond)
}

// idMillis is the millisecond part of a stream id.
func idMillis(t testing.TB, id string) uint64 {
	t.Helper()
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseUint(ms, 10, 64)
	if err != nil {
		t.Fatalf("stream id %q: %v", id, err)
	}
	return n
}

// httpGet fetches url and returns status, headers and body.
func httpGet(t testing.TB, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := (&http.Client{Timeout: waitFor}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(bufio.NewReader(resp.Body))
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// errorBody is the JSON error every refusal carries.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// checkUnavailable asserts a 503 with Retry-After and a JSON error body
// with code.
func checkUnavailable(t testing.TB, what string, status int, h http.Header, body []byte, code string) {
	t.Helper()
	if status != http.StatusServiceUnavailable {
		t.Fatalf("%s: status %d %s, want 503", what, status, body)
	}
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("%s: Retry-After %q, want a positive number of seconds", what, h.Get("Retry-After"))
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: Content-Type %q, want JSON", what, ct)
	}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != code || eb.Error.Message == "" {
		t.Fatalf("%s: body %s, want {\"error\":{\"code\":%q,...}}", what, body, code)
	}
}
