package hardening

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/streamid"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Credentials of the rig. The secret has the minimum HS256 length.
const (
	jwtSecret    = "hardening-secret-0123456789abcdef"
	audience     = "ssegate"
	staticToken  = "static-publish-token-0123456789"
	controlTopic = "hard:control"
	streamPath   = "/api/sse/stream"
)

// rig is one deployment under attack: a real Redis, a publisher that wants
// a static token or a JWT, and a gateway configured by the test.
type rig struct {
	redis *redistest.Server
	pub   *harness.Publisher
	gw    *harness.Gateway
	// header authenticates the control client (jwt mode) or is empty.
	controlHeader http.Header
}

// startRig starts Redis, the publisher and a gateway with cfg (its
// RedisURL is filled in).
func startRig(t *testing.T, cfg gateway.ProgramConfig) *rig {
	t.Helper()
	r := &rig{redis: redistest.Start(t), controlHeader: http.Header{}}
	settings := auth.Settings{PublishTokens: staticToken, JWTSecret: jwtSecret, JWTAudience: audience}
	pa, err := settings.Publisher(harness.Logger())
	if err != nil {
		t.Fatalf("publish auth: %v", err)
	}
	r.pub = harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: r.redis.URL(), Config: publisher.Config{Auth: pa}})
	cfg.RedisURL = r.redis.URL()
	if cfg.Auth != nil {
		r.controlHeader.Set("Authorization", "Bearer "+mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), subscribeClaims(time.Hour, controlTopic)))
	}
	r.gw = harness.StartGateway(t, cfg)
	// Streams are refused (503) until the Redis subscription is up.
	harness.WaitHTTP(t, r.gw.URL+"/readyz", http.StatusOK)
	return r
}

// jwtSubscriber is the gateway's subscriber authenticator for the rig's
// secret and audience.
func jwtSubscriber(t *testing.T) gateway.Authenticator {
	t.Helper()
	a, err := auth.Settings{JWTSecret: jwtSecret, JWTAudience: audience, SubscribeAuth: auth.SubscribeJWT}.Subscriber(harness.Logger())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mint signs claims with key.
func mint(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func subscribeClaims(ttl time.Duration, patterns ...string) jwt.MapClaims {
	return jwt.MapClaims{"sub": "browser", "aud": audience, "exp": time.Now().Add(ttl).Unix(), auth.SubscribeClaim: patterns}
}

func publishClaims(ttl time.Duration, patterns ...string) jwt.MapClaims {
	return jwt.MapClaims{"sub": "backend", "aud": audience, "exp": time.Now().Add(ttl).Unix(), auth.PublishClaim: patterns}
}

// response is a complete non-streaming answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorBody is the JSON error every refusal carries.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// send performs req and reads the whole answer. A 200 event stream would
// never end: its body is not read, the request is cancelled instead.
func send(t testing.TB, req *http.Request) response {
	t.Helper()
	return sendVia(t, &http.Transport{DisableCompression: true}, req)
}

// sendFrom is send from the loopback address ip.
func sendFrom(t testing.TB, ip string, req *http.Request) response {
	t.Helper()
	return sendVia(t, dialFrom(ip), req)
}

func sendVia(t testing.TB, tr *http.Transport, req *http.Request) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	out := response{Status: resp.StatusCode, Header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return out
	}
	out.Body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return out
}

// get sends a GET with header.
func get(t testing.TB, url string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return send(t, req)
}

// post sends body as JSON with header.
func post(t testing.TB, url string, body []byte, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	return send(t, req)
}

// wantError checks status, the JSON error code and the listed headers
// (name, value pairs; value "*" = present).
func wantError(t testing.TB, r response, status int, code string, headers ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d %s, want %d", r.Status, r.Body, status)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON (body %q)", ct, r.Body)
	}
	var b errorBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("body %q is not a JSON error: %v", r.Body, err)
	}
	if b.Error.Code != code || b.Error.Message == "" {
		t.Fatalf("error %+v, want code %q with a message", b.Error, code)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		got := r.Header.Get(headers[i])
		if (headers[i+1] == "*" && got == "") || (headers[i+1] != "*" && got != headers[i+1]) {
			t.Fatalf("%s: %q, want %q", headers[i], got, headers[i+1])
		}
	}
}

// bearer is an Authorization header.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// publishOnce posts one event; safe from any goroutine (no t).
func publishOnce(ctx context.Context, client *http.Client, baseURL, topic string, data any) (string, error) {
	body, err := json.Marshal(map[string]any{"topic": topic, "data": data})
	if err != nil {
		return "", fmt.Errorf("marshal: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+staticToken)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("publish: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("publish to %s: %d %s", topic, resp.StatusCode, raw)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("publish answer %q: %w", raw, err)
	}
	if out.ID == "" {
		return "", fmt.Errorf("publish answer %q: no id", raw)
	}
	return out.ID, nil
}

// control is a client that stays subscribed through an attack, and the
// record of every event published to its topic meanwhile.
type control struct {
	r       *rig
	topic   string
	streams []*harness.Stream
	client  *http.Client

	mu  sync.Mutex
	ids []string
}

// newControl subscribes n control clients to topic (once a stream's
// headers arrived, the gateway has subscribed the topic).
func (r *rig) newControl(t *testing.T, topic string, n int) *control {
	t.Helper()
	c := &control{r: r, topic: topic, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	t.Cleanup(c.client.CloseIdleConnections)
	for range n {
		c.streams = append(c.streams, harness.Subscribe(t, r.gw.URL+streamPath+"?topic="+topic, r.controlHeader))
	}
	return c
}

// publish publishes n events from the test goroutine and records them.
func (c *control) publish(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		id, err := publishOnce(context.Background(), c.client, c.r.pub.URL, c.topic, map[string]any{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		c.record(id)
	}
}

func (c *control) record(id string) {
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
}

// during runs attack while a background publisher sends an event to the
// control topic every few milliseconds, so the stream is live all along.
// Publishes are never cut short: each one's id is known.
func (c *control) during(t *testing.T, attack func()) {
	t.Helper()
	stop := make(chan struct{})
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond) // pacing the load, not synchronising
		defer tick.Stop()
		for i := 0; i < 20000; i++ { // bounded; normally stopped long before
			id, err := publishOnce(context.Background(), c.client, c.r.pub.URL, c.topic, map[string]any{"background": i})
			if err != nil {
				errc <- err
				return
			}
			c.record(id)
			select {
			case <-stop:
				errc <- nil
				return
			case <-tick.C:
			}
		}
		errc <- nil
	}()
	defer func() {
		close(stop)
		wg.Wait()
		if err := <-errc; err != nil {
			t.Errorf("background publisher: %v", err)
		}
	}()
	attack()
}

// verify publishes a last event and checks every control client received
// exactly the recorded events, in id order, each once, up to that last
// one: nothing was lost during the attack and nothing foreign was
// delivered on the topic.
func (c *control) verify(t *testing.T) {
	t.Helper()
	c.publish(t, 1)
	c.mu.Lock()
	want := slices.Clone(c.ids)
	c.mu.Unlock()
	slices.SortFunc(want, compareIDs)
	last := want[len(want)-1]
	deadline := time.Now().Add(60 * time.Second)
	for i, s := range c.streams {
		var got []string
		for len(got) == 0 || got[len(got)-1] != last {
			ev, err := s.Next(time.Until(deadline))
			if err != nil {
				t.Fatalf("control client %d after %d of %d events: %v", i, len(got), len(want), err)
			}
			if ev.Name != "message" {
				t.Fatalf("control client %d got a %q event: %s", i, ev.Name, ev.Data)
			}
			got = append(got, ev.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("control client %d: %d events differ from the %d published:\n got %v\nwant %v\nmissing %v\nextra %v",
				i, len(got), len(want), head(got), head(want), head(minus(want, got)), head(minus(got, want)))
		}
	}
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func head(s []string) []string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func compareIDs(a, b string) int {
	x, errA := streamid.Parse(a)
	y, errB := streamid.Parse(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return x.Compare(y)
}

// waitMetric polls until the metric has value want (bounded: 20 s).
func waitMetric(t testing.TB, reg prometheus.Gatherer, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := harness.Metric(t, reg, name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition under a deadline
	}
}

// rejected is the gateway's rejection counter for reason.
func (r *rig) rejected(t testing.TB, reason string) float64 {
	t.Helper()
	return harness.Metric(t, r.gw.Registry, "ssegate_gateway_connections_rejected_total", "reason", reason)
}

// dialFrom returns a transport whose connections come from the loopback
// address ip, so a test can be "another client IP" on one machine.
func dialFrom(ip string) *http.Transport {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Transport{DialContext: d.DialContext, DisableCompression: true, MaxIdleConnsPerHost: 64}
}

// openStream is an event stream held open (and never read) by a test.
type openStream struct {
	resp *http.Response
	tr   *http.Transport
}

// Close ends the stream.
func (s *openStream) Close() {
	s.resp.Body.Close()
	s.tr.CloseIdleConnections()
}

// openFrom opens an event stream from the loopback address ip and fails
// the test unless it is a 200 stream. Cleanup closes it.
func openFrom(t testing.TB, ip, url string, header http.Header) *openStream {
	t.Helper()
	tr := dialFrom(ip)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", url, ip, err)
	}
	s := &openStream{resp: resp, tr: tr}
	t.Cleanup(s.Close)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET %s from %s: %d %s", url, ip, resp.StatusCode, body)
	}
	return s
}
