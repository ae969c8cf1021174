package nginx

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// readTimeout is nginx's proxy_read_timeout in these tests (1 h in the
// shipped file): short, so "a stream idle longer than the timeout" takes
// seconds, not hours.
const readTimeout = time.Second

// stack is Redis, a gateway, a publisher and nginx in front of both.
type stack struct {
	gateway   *harness.Gateway
	publisher *harness.Publisher
	proxy     *proxy
}

// startStack starts everything on loopback; cfg tunes the gateway (its
// RedisURL is filled in). nginx is checked first, so a missing nginx skips
// before anything starts.
func startStack(t *testing.T, cfg gateway.ProgramConfig) *stack {
	t.Helper()
	nginxBinary(t)
	t.Cleanup(http.DefaultClient.CloseIdleConnections) // harness.Post's keep-alive connections
	redis := redistest.Start(t)
	cfg.RedisURL = redis.URL()
	if cfg.DrainWindow == 0 {
		cfg.DrainWindow = 50 * time.Millisecond
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 5 * time.Second
	}
	gw := harness.StartGateway(t, cfg)
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
	px := startProxy(t, strings.TrimPrefix(gw.URL, "http://"), strings.TrimPrefix(pub.URL, "http://"), readTimeout)
	return &stack{gateway: gw, publisher: pub, proxy: px}
}

// streamURL is the stream of topic through nginx.
func (s *stack) streamURL(topic string) string {
	return s.proxy.URL + "/api/sse/stream?topic=" + url.QueryEscape(topic)
}

// uniqueTopic keeps runs apart on a shared Redis (REDIS_ADDR).
func uniqueTopic(t *testing.T, name string) string {
	t.Helper()
	return fmt.Sprintf("nginxtest:%s:%s", name, rand.Text()[:10])
}

// subscribe opens a stream through nginx and checks what nginx made of the
// response headers: still an event stream, not compressed.
func subscribe(t *testing.T, s *stack, topic string, header http.Header) *harness.Stream {
	t.Helper()
	st := harness.Subscribe(t, s.streamURL(topic), header)
	if enc := st.Resp.Header.Get("Content-Encoding"); enc != "" {
		t.Fatalf("stream through nginx has Content-Encoding %q", enc)
	}
	return st
}

// TestEventsAreNotBuffered publishes 20 events one at a time through nginx
// and requires each to reach a subscriber through nginx within 100 ms:
// with nginx's default proxy_buffering the small frames would sit in its
// buffers instead.
func TestEventsAreNotBuffered(t *testing.T) {
	const (
		events = 20
		bound  = 100 * time.Millisecond
	)
	s := startStack(t, gateway.ProgramConfig{Config: gateway.Config{PingInterval: time.Hour}})
	topic := uniqueTopic(t, "latency")
	st := subscribe(t, s, topic, nil)
	var worst time.Duration
	late := 0
	for i := range events {
		start := time.Now()
		pub := harness.PublishEvent(t, s.proxy.URL, topic, map[string]int{"seq": i})
		ev := st.MustNext(t, 5*time.Second)
		took := time.Since(start)
		if ev.ID != pub.ID || ev.Data != fmt.Sprintf(`{"seq":%d}`, i) {
			t.Fatalf("event %d: got id %q data %q, want id %q", i, ev.ID, ev.Data, pub.ID)
		}
		if took > bound {
			late++
		}
		if took > time.Second {
			t.Errorf("event %d took %v from publish to receipt through nginx", i, took)
		}
		worst = max(worst, took)
	}
	// A buffering nginx holds these small frames until kilobytes pile up
	// (MustNext above would time out); one event late on a busy machine is
	// scheduling, not buffering.
	if late > 1 {
		t.Errorf("%d of %d events took longer than %v from publish to receipt through nginx (worst %v)", late, events, bound, worst)
	}
	t.Logf("publish -> receive through nginx: %d events, max %v", events, worst)
}

// TestIdleStreamOutlivesReadTimeout leaves a stream without events for
// three times nginx's proxy_read_timeout. With the gateway's keepalives
// (": ping" every 200 ms) nginx keeps it open and it still delivers; the
// control case without keepalives shows nginx really cuts quiet streams
// after the timeout, so the first case proves something.
func TestIdleStreamOutlivesReadTimeout(t *testing.T) {
	const idle = 3 * readTimeout
	tests := []struct {
		name     string
		ping     time.Duration
		wantOpen bool
	}{
		{name: "keepalives hold the stream", ping: 200 * time.Millisecond, wantOpen: true},
		{name: "without keepalives nginx cuts it", ping: time.Hour, wantOpen: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startStack(t, gateway.ProgramConfig{Config: gateway.Config{PingInterval: tc.ping}})
			topic := uniqueTopic(t, "idle")
			opened := time.Now()
			st := subscribe(t, s, topic, nil)
			if c, err := st.Comment(5 * time.Second); err != nil || c != "ok" {
				t.Fatalf("first comment = %q, %v; want \"ok\"", c, err)
			}

			// Count keepalives until the idle time is over or the stream ends.
			pings := 0
			deadline := time.Now().Add(idle)
		wait:
			for time.Now().Before(deadline) {
				if c, err := st.Comment(min(time.Until(deadline), 50*time.Millisecond)); err == nil && c == "ping" {
					pings++
				}
				select {
				case <-st.Done():
					break wait
				default:
				}
			}
			select {
			case <-st.Done():
				closedAfter := time.Since(opened)
				if tc.wantOpen {
					t.Fatalf("nginx closed the stream after %v (%d pings seen)", closedAfter, pings)
				}
				if closedAfter < readTimeout-100*time.Millisecond {
					t.Fatalf("stream closed after %v, before the %v read timeout", closedAfter, readTimeout)
				}
				t.Logf("without keepalives nginx closed the stream after %v", closedAfter)
				return
			default:
			}
			if !tc.wantOpen {
				t.Fatalf("stream still open after %v without keepalives: is proxy_read_timeout %v applied?", idle, readTimeout)
			}
			// Pings come every one to one and a half intervals (the
			// clock ticks at half the interval); the stream staying open
			// is the proof, the count only shows they went through.
			if least := int(idle / tc.ping / 4); pings < least {
				t.Errorf("saw %d keepalives through nginx in %v, want at least %d", pings, idle, least)
			}
			pub := harness.PublishEvent(t, s.publisher.URL, topic, map[string]string{"after": "idle"})
			ev := st.MustNext(t, 5*time.Second)
			if ev.ID != pub.ID {
				t.Fatalf("event after idle: id %q, want %q", ev.ID, pub.ID)
			}
			t.Logf("stream idle for %v through nginx (read timeout %v): %d keepalives, then the event arrived", idle, readTimeout, pings)
		})
	}
}

// TestResumeThroughProxy disconnects, publishes 50 events, and reconnects
// through nginx with Last-Event-ID: exactly those 50 arrive, in order, and
// then the stream goes on live.
func TestResumeThroughProxy(t *testing.T) {
	const missed = 50
	s := startStack(t, gateway.ProgramConfig{Config: gateway.Config{PingInterval: 300 * time.Millisecond}})
	topic := uniqueTopic(t, "resume")

	first := subscribe(t, s, topic, nil)
	seen := harness.PublishEvent(t, s.publisher.URL, topic, map[string]int{"seq": -1})
	if ev := first.MustNext(t, 5*time.Second); ev.ID != seen.ID {
		t.Fatalf("first event id %q, want %q", ev.ID, seen.ID)
	}
	last := first.LastEventID()
	first.Close()

	want := make([]string, missed)
	for i := range missed {
		want[i] = harness.PublishEvent(t, s.proxy.URL, topic, map[string]int{"seq": i}).ID
	}
	again := subscribe(t, s, topic, http.Header{"Last-Event-ID": {last}})
	for i, id := range want {
		ev := again.MustNext(t, 5*time.Second)
		if ev.Name != "message" || ev.ID != id || ev.Data != fmt.Sprintf(`{"seq":%d}`, i) {
			t.Fatalf("resumed event %d: %s id %q data %q, want message id %q", i, ev.Name, ev.ID, ev.Data, id)
		}
	}
	// Nothing else was replayed: the next event is a new live one.
	live := harness.PublishEvent(t, s.publisher.URL, topic, map[string]string{"live": "yes"})
	if ev := again.MustNext(t, 5*time.Second); ev.ID != live.ID {
		t.Fatalf("after the %d replayed events got id %q (%s), want the live event %q", missed, ev.ID, ev.Data, live.ID)
	}
	t.Logf("resumed through nginx from %s: %d events replayed in order, then live", last, missed)
}

// TestForwardedForReachesGateway limits the gateway to one stream per
// client IP. Trusting nginx (127.0.0.1), clients with different
// X-Forwarded-For addresses are counted apart and a repeated one is
// refused; trusting nobody, every stream comes from 127.0.0.1, so the
// second one is already refused.
func TestForwardedForReachesGateway(t *testing.T) {
	type conn struct {
		xff  string
		want int
	}
	tests := []struct {
		name    string
		trusted string
		conns   []conn
	}{
		{
			name: "nginx trusted", trusted: "127.0.0.1/32",
			conns: []conn{{"203.0.113.1", http.StatusOK}, {"203.0.113.2", http.StatusOK}, {"203.0.113.1", http.StatusTooManyRequests}},
		},
		{
			name: "nobody trusted", trusted: "",
			conns: []conn{{"203.0.113.1", http.StatusOK}, {"203.0.113.2", http.StatusTooManyRequests}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxies, err := httpserver.ParseCIDRs(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			cfg := gateway.ProgramConfig{Config: gateway.Config{MaxConnsPerIP: 1}}
			cfg.HTTP.TrustedProxies = proxies
			s := startStack(t, cfg)
			topic := uniqueTopic(t, "xff")
			rejected := 0
			for i, c := range tc.conns {
				st := harness.Open(t, s.streamURL(topic), http.Header{"X-Forwarded-For": {c.xff}})
				if st.Resp.StatusCode != c.want {
					t.Fatalf("stream %d (X-Forwarded-For %s): %s, want %d", i, c.xff, st.Resp.Status, c.want)
				}
				if c.want != http.StatusOK {
					rejected++
					if ct := st.Resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("refusal through nginx has Content-Type %q, want the gateway's JSON error", ct)
					}
				}
			}
			if got := harness.Metric(t, s.gateway.Registry, "ssegate_gateway_connections_rejected_total", "reason", "too_many_connections_from_ip"); got != float64(rejected) {
				t.Errorf("rejected{too_many_connections_from_ip} = %v, want %d", got, rejected)
			}
		})
	}
}

// TestRequestIDThroughProxy: a publish through nginx gets a request id the
// publisher answers in X-Request-Id: nginx's own $request_id (32 hex
// digits) when the caller sent none, else the caller's.
func TestRequestIDThroughProxy(t *testing.T) {
	s := startStack(t, gateway.ProgramConfig{})
	topic := uniqueTopic(t, "reqid")
	body := map[string]any{"topic": topic, "data": 1}
	nginxID := harness.Post(t, s.proxy.URL+"/v1/events", body)
	if got := nginxID.Header.Get("X-Request-Id"); nginxID.Status != http.StatusAccepted || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
		t.Fatalf("publish without an id: %d, X-Request-Id %q, want 202 and nginx's $request_id", nginxID.Status, got)
	}
	mine := harness.Post(t, s.proxy.URL+"/v1/events", body, "X-Request-Id", "backend-7")
	if got := mine.Header.Get("X-Request-Id"); mine.Status != http.StatusAccepted || got != "backend-7" {
		t.Fatalf("publish with an id: %d, X-Request-Id %q, want 202 and backend-7", mine.Status, got)
	}
}
