package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// switchBroker is the in-process broker with a switch on its health: the
// gateway's view of a Redis subscription that went down and came back.
type switchBroker struct {
	*membroker.Broker
	down atomic.Bool
}

// shardDownTopic is a topic whose shard switchBroker reports down while
// the subscription as a whole is up.
const shardDownTopic = "on-a-shard-that-is-down"

func (b *switchBroker) Healthy() bool { return !b.down.Load() }

func (b *switchBroker) HealthyFor(topics []string) bool {
	return b.Healthy() && !slices.Contains(topics, shardDownTopic)
}

var _ Broker = (*switchBroker)(nil)

// openStream GETs path on ts and returns the response once its headers are
// in; the stream ends when the test does.
func openStream(t *testing.T, ts *testServer, path string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	return resp
}

// feedTopics returns the topics the feed holds references to.
func feedTopics(f *feed) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.topics))
	for name, ft := range f.topics {
		out[name] = ft.refs
	}
	return out
}

func hubTopics(h *hub) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics)
}

func TestDisconnectFreesEverything(t *testing.T) {
	t.Parallel()
	mb := membroker.New(broker.HistoryConfig{})
	ts := startTestServer(t, mb, Config{})
	tests := []struct {
		name    string
		streams []string // paths opened together, then closed together
		topics  []string
	}{
		{"one stream", []string{"/api/sse/stream?topic=x"}, []string{"x"}},
		{"shared topics", []string{"/api/sse/stream?topic=x&topic=y", "/api/sse/stream?topic=y", "/api/sse/stream"}, []string{"x", "y", "spools:updates"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bodies []io.Closer
			for _, p := range tt.streams {
				resp := openStream(t, ts, p)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %s", p, resp.Status)
				}
				bodies = append(bodies, resp.Body)
			}
			waitFor(t, 5*time.Second, "streams registered", func() bool { return ts.hub.count() == len(tt.streams) })
			for _, name := range tt.topics {
				if n := mb.PublishRaw(name, []byte("probe")); n != 1 {
					t.Fatalf("topic %q not subscribed on the broker while streams are open", name)
				}
			}
			if got := metricValue(ts.metrics.Topics); got != float64(len(tt.topics)) {
				t.Fatalf("topics gauge %v, want %d", got, len(tt.topics))
			}
			for _, b := range bodies {
				b.Close()
			}
			waitFor(t, 5*time.Second, "everything freed", func() bool {
				return ts.hub.count() == 0 && len(feedTopics(ts.feed)) == 0 && hubTopics(ts.hub) == 0 &&
					metricValue(ts.metrics.Connections) == 0 && metricValue(ts.metrics.Topics) == 0
			})
			for _, name := range tt.topics {
				if n := mb.PublishRaw(name, []byte("probe")); n != 0 {
					t.Fatalf("topic %q still subscribed on the broker after the last stream left", name)
				}
			}
		})
	}
}

func TestBrokerUnhealthy(t *testing.T) {
	t.Parallel()
	b := &switchBroker{Broker: membroker.New(broker.HistoryConfig{})}
	ts := startTestServer(t, b, Config{Retry: 1500 * time.Millisecond})
	type errBody struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	get := func(t *testing.T, path string) (int, http.Header, []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			return resp.StatusCode, resp.Header, nil // a stream: do not read to the end
		}
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, body
	}
	tests := []struct {
		name     string
		down     bool
		path     string
		want     int
		wantCode string
	}{
		{"healthz up", false, "/healthz", 200, ""},
		{"readyz up", false, "/readyz", 200, ""},
		{"stream up", false, "/api/sse/stream", 200, ""},
		{"healthz down", true, "/healthz", 200, ""},
		{"readyz down", true, "/readyz", 503, "redis_unavailable"},
		{"stream down", true, "/api/sse/stream", 503, "redis_unavailable"},
		{"readyz back up", false, "/readyz", 200, ""},
		{"stream back up", false, "/api/sse/stream?topic=again", 200, ""},
		{"stream with a topic on a shard that is down", false, "/api/sse/stream?topic=again&topic=" + shardDownTopic, 503, "redis_unavailable"},
		{"stream on the shards that are up", false, "/api/sse/stream?topic=again&topic=other", 200, ""},
	}
	for _, tt := range tests { // in order: the switch is shared
		t.Run(tt.name, func(t *testing.T) {
			b.down.Store(tt.down)
			status, h, body := get(t, tt.path)
			if status != tt.want {
				t.Fatalf("status %d, want %d (body %s)", status, tt.want, body)
			}
			if tt.wantCode == "" {
				return
			}
			if got := h.Get("Retry-After"); got != "2" {
				t.Fatalf("Retry-After %q, want \"2\" (1.5 s rounded up)", got)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("Content-Type %q", h.Get("Content-Type"))
			}
			var eb errBody
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != tt.wantCode || eb.Error.Message == "" {
				t.Fatalf("body %s (err %v), want error code %q with a message", body, err, tt.wantCode)
			}
		})
	}
	if got := metricValue(ts.metrics.Rejected.WithLabelValues("redis_unavailable")); got != 2 {
		t.Fatalf("rejected{redis_unavailable} = %v, want 2", got)
	}
}

// startOneStream starts a gateway on an in-process broker with one open
// stream on topic, registered in the hub when it returns.
func startOneStream(t *testing.T, topic string, cfg Config) (*membroker.Broker, *testServer, *http.Response) {
	t.Helper()
	mb := membroker.New(broker.HistoryConfig{})
	ts := startTestServer(t, mb, cfg)
	resp := openStream(t, ts, "/api/sse/stream?topic="+topic)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	waitFor(t, 5*time.Second, "stream registered", func() bool { return ts.hub.count() == 1 })
	return mb, ts, resp
}

// TestBackfillAfterResubscription loses messages on the broker side (the
// topic is unsubscribed while events are published), reports the
// resubscription as the Redis broker does, and checks that the client gets
// the missed events from history, in order and once, then live ones. The
// window stays contiguous through the gap: a resume from before it, served
// from memory, writes what a replay from history writes.
func TestBackfillAfterResubscription(t *testing.T) {
	t.Parallel()
	mb, ts, resp := startOneStream(t, "bf", windowOn(100))
	events := make(chan string, 1024)
	go func() { // ends when the response body is closed by the test's cleanup
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		id := ""
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				id = v
			} else if strings.HasPrefix(sc.Text(), "data:") && id != "" {
				events <- id // an event; the stream's position frame has no data
				id = ""
			}
		}
	}()
	ctx := context.Background()
	publish := func() streamid.ID {
		r, err := mb.Publish(ctx, broker.PublishRequest{Topic: "bf", Data: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	next := func() string {
		select {
		case id := <-events:
			return id
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5s")
			return ""
		}
	}
	var want []string
	want = append(want, publish().String())
	if got := next(); got != want[0] {
		t.Fatalf("first event %s, want %s", got, want[0])
	}
	mb.Unsubscribe([]string{"bf"}) // the subscription drops: these are lost live
	for range 5 {
		want = append(want, publish().String())
	}
	if err := mb.Subscribe(ctx, []string{"bf"}); err != nil {
		t.Fatal(err)
	}
	ts.feed.Resubscribed("bf")
	want = append(want, publish().String()) // live again (maybe held during backfill)
	for i, w := range want[1:] {
		if got := next(); got != w {
			t.Fatalf("event %d: id %s, want %s", i+1, got, w)
		}
	}
	last := publish().String()
	if got := next(); got != last {
		t.Fatalf("after backfill got %s, want %s (duplicate or loss)", got, last)
	}
	// 5 lost events, plus the live one if it arrived while the topic held.
	if got := metricValue(ts.metrics.Backfilled); got < 5 || got > 6 {
		t.Fatalf("backfilled = %v, want 5 or 6", got)
	}
	if got := metricValue(ts.metrics.Resubscriptions); got != 1 {
		t.Fatalf("resubscriptions = %v, want 1", got)
	}
	cn := newConn("probe", []string{"bf"}, 16, func(int) {})
	snap := ts.hub.join(cn)
	defer ts.hub.leave(cn)
	off := New(mb, Config{Registry: prometheus.NewRegistry()})
	fromWindow := resumeBytes(t, ts.Server, []string{"bf"}, snap, want[0])
	if fromRedis := resumeBytes(t, off, []string{"bf"}, snap, want[0]); fromWindow != fromRedis {
		t.Fatalf("resume from %s after the backfill:\nwindow  %q\nhistory %q", want[0], fromWindow, fromRedis)
	}
	if hits := metricValue(ts.metrics.WindowHits); hits != 1 {
		t.Fatalf("window hits %v, want 1", hits)
	}
}

// TestRepeatedResubscriptionsNeverLeaveTheTopicHeld: re-subscriptions that
// race the end of a backfill must each end with the topic released, or its
// live events would wait in the hold with no backfill left to release it.
func TestRepeatedResubscriptionsNeverLeaveTheTopicHeld(t *testing.T) {
	t.Parallel()
	mb, ts, _ := startOneStream(t, "flap", Config{})
	ctx := context.Background()
	for round := range 200 {
		if _, err := mb.Publish(ctx, broker.PublishRequest{Topic: "flap", Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ts.feed.Resubscribed("flap")
			}()
		}
		wg.Wait()
		waitFor(t, 5*time.Second, fmt.Sprintf("round %d: backfills finished and the topic released", round), func() bool {
			ts.feed.mu.Lock()
			running := len(ts.feed.backfills)
			ts.feed.mu.Unlock()
			return running == 0 && !ts.hub.isHolding("flap")
		})
	}
}

// unreadableBroker is the in-process broker whose history cannot be read:
// a backfill on it retries until it is stopped.
type unreadableBroker struct {
	*membroker.Broker
	reads atomic.Int64
}

func (b *unreadableBroker) History(context.Context, string, streamid.ID, streamid.ID, int) (broker.Page, error) {
	b.reads.Add(1)
	return broker.Page{}, fmt.Errorf("history: %w", broker.ErrUnavailable)
}

// TestFeedRunStopsWhatItStarted: every goroutine the feed starts ends when
// its run does, also a backfill started before run (the feed keeps no
// context of its own that such a goroutine could miss), and once stopped
// the feed starts none: a new topic's setup fails at once.
func TestFeedRunStopsWhatItStarted(t *testing.T) {
	t.Parallel()
	h := newTestHub()
	openTopic(t, h, "t", streamid.Zero)
	b := &unreadableBroker{Broker: membroker.New(broker.HistoryConfig{})}
	f := newFeed(b, h, h.log, h.metrics, time.Second)
	f.Resubscribed("t") // before run: a backfill that cannot read history
	waitFor(t, 5*time.Second, "the backfill's first read", func() bool { return b.reads.Load() > 0 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return: the backfill it started outlived it")
	}
	if !h.isHolding("t") {
		t.Fatal("the topic was released although its history was never read")
	}
	err := f.acquire(context.Background(), []string{"new"})
	if !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("acquire after run ended: %v, want broker.ErrUnavailable", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.topics) != 0 || len(f.setups) != 0 || len(f.backfills) != 0 {
		t.Fatalf("after run: %d topics, %d setups, %d backfills left", len(f.topics), len(f.setups), len(f.backfills))
	}
}
