package hardening

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/test/harness"
)

// TestConnectionFloodFromOneIP: 1,000 stream requests from one address
// against a per-IP limit of 100. Exactly 100 streams open; the other 900
// get 429 with Retry-After; a client on another address keeps receiving.
func TestConnectionFloodFromOneIP(t *testing.T) {
	const attempts, perIP, workers = 1000, 100, 16
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{MaxConnsPerIP: perIP, PingInterval: time.Minute}})
	ctl := r.newControl(t, controlTopic, 1)
	ctl.publish(t, 3)

	tr := dialFrom("127.0.0.2")
	client := &http.Client{Transport: tr}
	type result struct {
		res  response
		resp *http.Response // open stream
		err  error
	}
	results := make(chan result, attempts)
	ctl.during(t, func() {
		jobs := make(chan struct{}, attempts)
		for range attempts {
			jobs <- struct{}{}
		}
		close(jobs)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range jobs {
					resp, err := client.Get(r.gw.URL + streamPath + "?topic=hard:flood")
					if err != nil {
						results <- result{err: err}
						continue
					}
					res := response{Status: resp.StatusCode, Header: resp.Header}
					if resp.StatusCode == http.StatusOK {
						results <- result{res: res, resp: resp}
						continue
					}
					res.Body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					results <- result{res: res, err: err}
				}
			}()
		}
		wg.Wait()
	})
	close(results)
	var open []*http.Response
	t.Cleanup(func() {
		for _, resp := range open {
			resp.Body.Close()
		}
		tr.CloseIdleConnections()
	})
	counts := map[int]int{}
	for res := range results {
		if res.err != nil {
			t.Fatalf("flood request: %v", res.err)
		}
		counts[res.res.Status]++
		switch res.res.Status {
		case http.StatusOK:
			open = append(open, res.resp)
		case http.StatusTooManyRequests:
			wantError(t, res.res, http.StatusTooManyRequests, "too_many_connections_from_ip", "Retry-After", "2")
		}
	}
	if counts[http.StatusOK] != perIP || counts[http.StatusTooManyRequests] != attempts-perIP || len(counts) != 2 {
		t.Fatalf("statuses %v, want %d × 200 and %d × 429", counts, perIP, attempts-perIP)
	}
	if got := r.rejected(t, "too_many_connections_from_ip"); got != attempts-perIP {
		t.Fatalf("rejected{too_many_connections_from_ip} = %v, want %d", got, attempts-perIP)
	}
	waitMetric(t, r.gw.Registry, perIP+1, "ssegate_gateway_connections")
	ctl.verify(t)

	for _, resp := range open {
		resp.Body.Close()
	}
	open = nil
	tr.CloseIdleConnections()
	waitMetric(t, r.gw.Registry, 1, "ssegate_gateway_connections")
	// The slots are free again.
	s := get(t, r.gw.URL+streamPath+"?topic=hard:flood", nil)
	if s.Status != http.StatusOK {
		t.Fatalf("after the flood: %d %s", s.Status, s.Body)
	}
}

// TestGlobalConnectionLimit: past SSEGATE_MAX_CONNECTIONS a stream request
// gets 503 with Retry-After, whatever its address.
func TestGlobalConnectionLimit(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{MaxConnections: 3, Retry: 3 * time.Second}})
	ctl := r.newControl(t, controlTopic, 1)
	ctl.during(t, func() {
		a := openFrom(t, "127.0.0.3", r.gw.URL+streamPath+"?topic=hard:global", nil)
		b := openFrom(t, "127.0.0.4", r.gw.URL+streamPath+"?topic=hard:global", nil)
		defer a.Close()
		defer b.Close()
		req, _ := http.NewRequest(http.MethodGet, r.gw.URL+streamPath+"?topic=hard:global", nil)
		wantError(t, sendFrom(t, "127.0.0.5", req), http.StatusServiceUnavailable, "too_many_connections", "Retry-After", "3")
	})
	if got := r.rejected(t, "too_many_connections"); got != 1 {
		t.Fatalf("rejected{too_many_connections} = %v, want 1", got)
	}
	ctl.verify(t)
}

// TestConnectRateFromOneIP: SSEGATE_CONNECT_RATE_PER_IP=0.5 lets one new
// stream through and refuses the next with 429 and Retry-After: 2 (one
// token every two seconds).
func TestConnectRateFromOneIP(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{ConnectRatePerIP: 0.5}})
	ctl := r.newControl(t, controlTopic, 1) // from 127.0.0.1: its own bucket
	ctl.during(t, func() {
		first := openFrom(t, "127.0.0.6", r.gw.URL+streamPath+"?topic=hard:rate", nil)
		defer first.Close()
		req, _ := http.NewRequest(http.MethodGet, r.gw.URL+streamPath+"?topic=hard:rate", nil)
		wantError(t, sendFrom(t, "127.0.0.6", req), http.StatusTooManyRequests, "connect_rate_exceeded", "Retry-After", "2")
	})
	if got := r.rejected(t, "connect_rate_exceeded"); got != 1 {
		t.Fatalf("rejected{connect_rate_exceeded} = %v, want 1", got)
	}
	ctl.verify(t)
}

// TestSpoofedForwardedFor: X-Forwarded-For is believed only from a trusted
// proxy. From an untrusted peer, inventing addresses does not escape the
// per-IP limit; behind a trusted proxy, the forwarded address is the one
// limited.
func TestSpoofedForwardedFor(t *testing.T) {
	proxies, err := httpserver.ParseCIDRs("127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.ProgramConfig{Config: gateway.Config{MaxConnsPerIP: 1}}
	cfg.HTTP.TrustedProxies = proxies
	r := startRig(t, cfg)
	ctl := r.newControl(t, controlTopic, 1)
	xff := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	ctl.during(t, func() {
		// Untrusted peer 127.0.0.8: the header is ignored.
		a := openFrom(t, "127.0.0.8", r.gw.URL+streamPath+"?topic=hard:xff", xff("203.0.113.1"))
		defer a.Close()
		req, _ := http.NewRequest(http.MethodGet, r.gw.URL+streamPath+"?topic=hard:xff", nil)
		req.Header = xff("203.0.113.2")
		wantError(t, sendFrom(t, "127.0.0.8", req), http.StatusTooManyRequests, "too_many_connections_from_ip")
		// Trusted proxy 127.0.0.9: each forwarded client has its own limit.
		b := openFrom(t, "127.0.0.9", r.gw.URL+streamPath+"?topic=hard:xff", xff("198.51.100.1"))
		defer b.Close()
		c := openFrom(t, "127.0.0.9", r.gw.URL+streamPath+"?topic=hard:xff", xff("198.51.100.2"))
		defer c.Close()
		req, _ = http.NewRequest(http.MethodGet, r.gw.URL+streamPath+"?topic=hard:xff", nil)
		req.Header = xff("198.51.100.1")
		wantError(t, sendFrom(t, "127.0.0.9", req), http.StatusTooManyRequests, "too_many_connections_from_ip")
	})
	if got := r.rejected(t, "too_many_connections_from_ip"); got != 2 {
		t.Fatalf("rejected{too_many_connections_from_ip} = %v, want 2", got)
	}
	ctl.verify(t)
}

// TestSlowReaderIsEvicted: a client that never reads while 10,000 events
// of 1 KiB flow (more than the kernel buffers hold) is disconnected; two
// other clients get all 10,000.
func TestSlowReaderIsEvicted(t *testing.T) {
	const events, workers = 10000, 8
	// The control clients' queues must absorb a reader stalled by a busy
	// machine; the slow client is evicted by the send timeout either way.
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{SendTimeout: time.Second, QueueSize: 1 << 14}})
	const topic = "hard:firehose"
	ctl := r.newControl(t, topic, 2)

	// The slow client: a small receive buffer, a request, then nothing.
	slow, err := harness.RcvBufDialer(4096).Dial("tcp", strings.TrimPrefix(r.gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := fmt.Fprintf(slow, "GET %s?topic=%s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", streamPath, topic); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, r.gw.Registry, 3, "ssegate_gateway_connections")

	pad := strings.Repeat("x", 1024)
	ids := make(chan string, events)
	errc := make(chan error, workers)
	jobs := make(chan int, events)
	for i := range events {
		jobs <- i
	}
	close(jobs)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id, err := publishOnce(t.Context(), client, r.pub.URL, topic, map[string]any{"i": i, "pad": pad})
				if err != nil {
					errc <- err
					return
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(errc)
	close(ids)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for id := range ids {
		ctl.record(id)
	}
	ctl.verify(t)

	// The slow client is evicted (queue full, or its write timed out), and
	// only it.
	waitMetric(t, r.gw.Registry, 2, "ssegate_gateway_connections")
	evicted := harness.Metric(t, r.gw.Registry, "ssegate_gateway_clients_evicted_total", "reason", "queue_full") +
		harness.Metric(t, r.gw.Registry, "ssegate_gateway_clients_evicted_total", "reason", "send_timeout")
	if evicted != 1 {
		t.Fatalf("evicted = %v, want 1 (the slow client)", evicted)
	}
	// Its connection was closed: once the buffered bytes are read, EOF.
	_ = slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := io.Copy(io.Discard, slow); err != nil {
		t.Fatalf("slow client after %d bytes: %v, want EOF", n, err)
	}
}

// TestTokenExpiresMidStream: a stream opened with a token that expires in
// about two seconds gets a token-expired event when it does and is
// closed; a client with a longer token keeps receiving.
func TestTokenExpiresMidStream(t *testing.T) {
	// Expiry is checked on the keepalive clock (every PingInterval/2, at
	// most 1 s): a short interval keeps the check's own delay small.
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{Auth: jwtSubscriber(t), PingInterval: 400 * time.Millisecond}})
	ctl := r.newControl(t, controlTopic, 1)
	exp := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	claims := subscribeClaims(0, controlTopic)
	claims["exp"] = exp.Unix()
	cookie := (&http.Cookie{Name: "ssegate_token", Value: mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), claims)}).String()
	short := harness.Subscribe(t, r.gw.URL+streamPath+"?topic="+controlTopic, http.Header{"Cookie": {cookie}})
	ctl.publish(t, 2)
	for range 2 {
		if ev := short.MustNext(t, 10*time.Second); ev.Name != "message" {
			t.Fatalf("before expiry: %q event %s", ev.Name, ev.Data)
		}
	}
	ev := short.MustNext(t, 10*time.Second)
	if ev.Name != "token-expired" || ev.Data != `{"reason":"token_expired"}` {
		t.Fatalf("got %q %s, want token-expired", ev.Name, ev.Data)
	}
	if late := time.Since(exp); late < 0 || late > 2*time.Second {
		t.Fatalf("token-expired %v after exp", late)
	}
	select {
	case <-short.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open after token-expired")
	}
	waitMetric(t, r.gw.Registry, 1, "ssegate_gateway_connections_closed_total", "reason", "auth_expired")
	ctl.publish(t, 2)
	ctl.verify(t)
}

// TestCrossOriginRequests: SSEGATE_CORS_ORIGINS decides which pages may
// open streams. A foreign origin gets 403 before any work (the topic is
// never subscribed in Redis); allowed and same-origin pages get their
// stream, with the CORS headers for the allowed one; preflights are
// answered.
func TestCrossOriginRequests(t *testing.T) {
	const allowed = "https://app.example.com"
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{CORSOrigins: []string{allowed}}})
	ctl := r.newControl(t, controlTopic, 1)
	host := strings.TrimPrefix(r.gw.URL, "http://")
	stream := r.gw.URL + streamPath + "?topic=hard:cors"
	ctl.during(t, func() {
		for _, evil := range []string{"https://evil.example", "null", "https://app.example.com.evil.example", "http://app.example.com", "https://" + host + ".evil.example"} {
			resp := get(t, stream, http.Header{"Origin": {evil}})
			wantError(t, resp, http.StatusForbidden, "origin_not_allowed")
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Fatalf("origin %q got Access-Control-Allow-Origin", evil)
			}
			if n := r.redis.NumSub(t, "hard:cors"); n != 0 {
				t.Fatalf("after a refused origin %q, PUBSUB NUMSUB hard:cors = %d", evil, n)
			}
		}
		pre, _ := http.NewRequest(http.MethodOptions, stream, nil)
		pre.Header.Set("Origin", "https://evil.example")
		pre.Header.Set("Access-Control-Request-Method", "GET")
		wantError(t, send(t, pre), http.StatusForbidden, "origin_not_allowed")

		ok := get(t, stream, http.Header{"Origin": {allowed}})
		if ok.Status != http.StatusOK || ok.Header.Get("Access-Control-Allow-Origin") != allowed ||
			ok.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(ok.Header.Get("Vary"), "Origin") {
			t.Fatalf("allowed origin: %d %v", ok.Status, ok.Header)
		}
		same := get(t, stream, http.Header{"Origin": {"http://" + host}})
		if same.Status != http.StatusOK {
			t.Fatalf("same origin: %d %s", same.Status, same.Body)
		}
		pre, _ = http.NewRequest(http.MethodOptions, stream, nil)
		pre.Header.Set("Origin", allowed)
		pre.Header.Set("Access-Control-Request-Method", "GET")
		pre.Header.Set("Access-Control-Request-Headers", "authorization,last-event-id")
		p := send(t, pre)
		want := map[string]string{
			"Access-Control-Allow-Origin":      allowed,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "GET, POST, OPTIONS",
			"Access-Control-Allow-Headers":     "Authorization, Content-Type, Last-Event-ID, Idempotency-Key",
			"Access-Control-Max-Age":           "600",
		}
		if p.Status != http.StatusNoContent {
			t.Fatalf("preflight: %d %s", p.Status, p.Body)
		}
		for k, v := range want {
			if got := p.Header.Get(k); got != v {
				t.Fatalf("preflight %s = %q, want %q", k, got, v)
			}
		}
	})
	if got := r.rejected(t, "origin_not_allowed"); got != 5 {
		t.Fatalf("rejected{origin_not_allowed} = %v, want 5", got)
	}
	ctl.verify(t)
}

// forgedTokens are the JWT attacks: each must be refused with 401 and the
// RFC 6750 challenge, on both the stream and the publish API.
func forgedTokens(t *testing.T, claims func() jwt.MapClaims) map[string]string {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) jwt.MapClaims {
		c := claims()
		c[k] = v
		return c
	}
	enc := base64.RawURLEncoding
	noneHeader := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload, _ := json.Marshal(claims())
	valid := mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), claims())
	parts := strings.Split(valid, ".")
	return map[string]string{
		"wrong key":                        mint(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0"), claims()),
		"alg none":                         noneHeader + "." + enc.EncodeToString(payload) + ".",
		"alg none with a stolen signature": noneHeader + "." + parts[1] + "." + parts[2],
		"expired":                          mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), with("exp", time.Now().Add(-time.Minute).Unix())),
		"no expiry":                        mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), with("exp", nil)),
		"wrong audience":                   mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), with("aud", "other-service")),
		"RS256 against the HS256 secret":   mint(t, jwt.SigningMethodRS256, rsaKey, claims()),
		"payload swapped":                  parts[0] + "." + enc.EncodeToString([]byte(`{"aud":"ssegate","exp":9999999999,"ssegate.subscribe":["*"],"ssegate.publish":["*"]}`)) + "." + parts[2],
		"garbage":                          "not-a-token",
	}
}

// TestForgedSubscriberTokens: every forged JWT gets 401 on the stream
// before anything is subscribed; a genuine token for another topic gets
// 403.
func TestForgedSubscriberTokens(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{Auth: jwtSubscriber(t)}})
	ctl := r.newControl(t, controlTopic, 1)
	const topic = "hard:private"
	stream := r.gw.URL + streamPath + "?topic=" + topic
	tokens := forgedTokens(t, func() jwt.MapClaims {
		c := subscribeClaims(time.Hour, topic)
		return c
	})
	const challenge = `Bearer realm="ssegate", error="invalid_token"`
	ctl.during(t, func() {
		for name, tok := range tokens {
			for _, where := range []string{"header", "cookie", "query"} {
				t.Run(name+" in "+where, func(t *testing.T) {
					var resp response
					switch where {
					case "header":
						resp = get(t, stream, bearer(tok))
					case "cookie":
						resp = get(t, stream, http.Header{"Cookie": {"ssegate_token=" + tok}})
					case "query":
						resp = get(t, stream+"&access_token="+url.QueryEscape(tok), nil)
					}
					wantError(t, resp, http.StatusUnauthorized, "invalid_token", "WWW-Authenticate", challenge)
				})
			}
		}
		wantError(t, get(t, stream, nil), http.StatusUnauthorized, "missing_token", "WWW-Authenticate", `Bearer realm="ssegate"`)
		other := mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), subscribeClaims(time.Hour, "hard:other", "hard:private:*"))
		wantError(t, get(t, stream, bearer(other)), http.StatusForbidden, "forbidden_topic",
			"WWW-Authenticate", `Bearer realm="ssegate", error="insufficient_scope"`)
		if n := r.redis.NumSub(t, topic); n != 0 {
			t.Fatalf("PUBSUB NUMSUB %s = %d after refused requests", topic, n)
		}
	})
	if got, want := r.rejected(t, "invalid_token"), float64(3*len(tokens)); got != want {
		t.Fatalf("rejected{invalid_token} = %v, want %v", got, want)
	}
	if got := r.rejected(t, "missing_token"); got != 1 {
		t.Fatalf("rejected{missing_token} = %v, want 1", got)
	}
	if got := r.rejected(t, "forbidden_topic"); got != 1 {
		t.Fatalf("rejected{forbidden_topic} = %v, want 1", got)
	}
	ctl.verify(t)
}

// TestForgedPublisherTokens: every forged JWT gets 401 on the publish API
// and publishes nothing (the control client sees no foreign event); a
// genuine token for another topic gets 403.
func TestForgedPublisherTokens(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{})
	ctl := r.newControl(t, controlTopic, 1)
	tokens := forgedTokens(t, func() jwt.MapClaims { return publishClaims(time.Hour, "hard:*") })
	body := []byte(`{"topic":"` + controlTopic + `","data":{"forged":true}}`)
	spool := []byte(`{"event_type":"TOMAR","tag_spool":"SP-1"}`)
	const challenge = `Bearer realm="ssegate", error="invalid_token"`
	ctl.during(t, func() {
		for name, tok := range tokens {
			t.Run(name, func(t *testing.T) {
				wantError(t, post(t, r.pub.URL+"/v1/events", body, bearer(tok)), http.StatusUnauthorized, "invalid_token", "WWW-Authenticate", challenge)
				wantError(t, post(t, r.pub.URL+"/publish", spool, bearer(tok)), http.StatusUnauthorized, "invalid_token", "WWW-Authenticate", challenge)
			})
		}
		wantError(t, post(t, r.pub.URL+"/v1/events", body, nil), http.StatusUnauthorized, "missing_token", "WWW-Authenticate", `Bearer realm="ssegate"`)
		wantError(t, post(t, r.pub.URL+"/v1/events", body, http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("a:b"))}}),
			http.StatusUnauthorized, "invalid_token", "WWW-Authenticate", challenge)
		wantError(t, post(t, r.pub.URL+"/v1/events", body, bearer(staticToken+"x")), http.StatusUnauthorized, "invalid_token")
		narrow := mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), publishClaims(time.Hour, "orders:*"))
		wantError(t, post(t, r.pub.URL+"/v1/events", body, bearer(narrow)), http.StatusForbidden, "forbidden_topic",
			"WWW-Authenticate", `Bearer realm="ssegate", error="insufficient_scope"`)
		wantError(t, post(t, r.pub.URL+"/publish", spool, bearer(narrow)), http.StatusForbidden, "forbidden_topic")
		// The genuine article works, and its event is expected.
		good := mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), publishClaims(time.Hour, "hard:*"))
		res := post(t, r.pub.URL+"/v1/events", body, bearer(good))
		if res.Status != http.StatusAccepted {
			t.Fatalf("genuine JWT: %d %s", res.Status, res.Body)
		}
		var ok struct{ ID string }
		if err := json.Unmarshal(res.Body, &ok); err != nil {
			t.Fatal(err)
		}
		ctl.record(ok.ID)
	})
	ctl.verify(t)
}

// TestMalformedLastEventID: a Last-Event-ID the gateway cannot parse is
// not an error the browser would give up on: 200, a reset event saying
// "malformed", then the live stream.
func TestMalformedLastEventID(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{})
	ctl := r.newControl(t, controlTopic, 1)
	const topic = "hard:resume"
	cases := map[string]string{
		"garbage":        "garbage",
		"three parts":    "1-2-3",
		"negative":       "-1-0",
		"overflow":       "99999999999999999999999-0",
		"too many ids":   "1-0_2-0_3-0",
		"non-UTF-8":      "1-\xff",
		"very long":      strings.Repeat("9", 4000),
		"sql":            "1' OR '1'='1",
		"empty sequence": "1-",
	}
	for name, id := range cases {
		t.Run(name, func(t *testing.T) {
			s := harness.Subscribe(t, r.gw.URL+streamPath+"?topic="+topic, http.Header{"Last-Event-ID": {id}})
			ev := s.MustNext(t, 10*time.Second)
			var data struct {
				Reason string   `json:"reason"`
				Topics []string `json:"topics"`
			}
			if ev.Name != "reset" || json.Unmarshal([]byte(ev.Data), &data) != nil || data.Reason != "malformed" || len(data.Topics) != 1 || data.Topics[0] != topic {
				t.Fatalf("got %q %s, want a malformed reset", ev.Name, ev.Data)
			}
			s.Close()
		})
	}
	// The same through the query parameter polyfills use.
	s := harness.Subscribe(t, r.gw.URL+streamPath+"?topic="+topic+"&lastEventId=%00%0d%0aevent:%20admin", nil)
	if ev := s.MustNext(t, 10*time.Second); ev.Name != "reset" {
		t.Fatalf("query lastEventId: %q %s", ev.Name, ev.Data)
	}
	id, err := publishOnce(t.Context(), http.DefaultClient, r.pub.URL, topic, "live")
	if err != nil {
		t.Fatal(err)
	}
	if ev := s.MustNext(t, 10*time.Second); ev.ID != id {
		t.Fatalf("after the reset: %+v, want live event %s", ev, id)
	}
	ctl.verify(t)
}

// TestUnknownQueryParameters: a misspelt or invented parameter is a 400,
// not silently ignored.
func TestUnknownQueryParameters(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{})
	ctl := r.newControl(t, controlTopic, 1)
	ctl.during(t, func() {
		for _, q := range []string{"topics=a", "topic=a&debug=1", "Topic=a", "topic=a&lastEventID=1", "topic=a&" + strings.Repeat("x", 500) + "=1"} {
			wantError(t, get(t, r.gw.URL+streamPath+"?"+q, nil), http.StatusBadRequest, "unknown_parameter")
		}
	})
	if got := r.rejected(t, "unknown_parameter"); got != 5 {
		t.Fatalf("rejected{unknown_parameter} = %v, want 5", got)
	}
	ctl.verify(t)
}

// TestHostileTopicNames: topic names that are not UTF-8, too long, empty,
// carry Redis hash-tag braces, glob characters or control characters, or
// are too many, get 400 on both the stream and the publish API.
func TestHostileTopicNames(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{Config: gateway.Config{MaxTopics: 4}})
	ctl := r.newControl(t, controlTopic, 1)
	names := map[string]string{
		"non-UTF-8":      "spools:\xff\xfe",
		"oversized":      strings.Repeat("a", 129),
		"empty":          "",
		"hash tag":       "{spools}:x",
		"glob":           "spools:*",
		"space":          "spools updates",
		"newline":        "spools\nupdates",
		"NUL":            "spools\x00",
		"huge":           strings.Repeat("b", 8000),
		"unicode letter": "spöols",
	}
	ctl.during(t, func() {
		for name, topic := range names {
			t.Run(name, func(t *testing.T) {
				wantError(t, get(t, r.gw.URL+streamPath+"?topic="+url.QueryEscape(topic), nil), http.StatusBadRequest, "invalid_topic")
				body, err := json.Marshal(map[string]any{"topic": topic, "data": 1})
				if err != nil {
					t.Fatal(err)
				}
				wantError(t, post(t, r.pub.URL+"/v1/events", body, bearer(staticToken)), http.StatusBadRequest, "invalid_topic")
			})
		}
		var many []string
		for i := range 5 {
			many = append(many, fmt.Sprintf("topic=hard:t%d", i))
		}
		wantError(t, get(t, r.gw.URL+streamPath+"?"+strings.Join(many, "&"), nil), http.StatusBadRequest, "invalid_topic")
		// Raw non-UTF-8 bytes in the publish body itself.
		wantError(t, post(t, r.pub.URL+"/v1/events", []byte("{\"topic\":\"a\xff\",\"data\":1}"), bearer(staticToken)), http.StatusBadRequest, "invalid_json")
	})
	if got, want := r.rejected(t, "invalid_topic"), float64(len(names)+1); got != want {
		t.Fatalf("rejected{invalid_topic} = %v, want %v", got, want)
	}
	ctl.verify(t)
}

// TestHostilePublishBodies: bodies built to confuse parsers or exhaust the
// publisher get 400 (413 past the size limit) and publish nothing.
func TestHostilePublishBodies(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{})
	ctl := r.newControl(t, controlTopic, 1)
	topic := `"topic":"` + controlTopic + `"`
	// code lists the acceptable error codes, separated by "|".
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"huge exponent", `{` + topic + `,"data":1e999}`, 400, "number_out_of_range|invalid_json"},
		{"huge negative exponent", `{` + topic + `,"data":{"n":-1e400}}`, 400, "number_out_of_range|invalid_json"},
		{"huge integer", `{` + topic + `,"data":` + strings.Repeat("9", 400) + `}`, 400, "number_out_of_range|invalid_json"},
		{"deeply nested arrays", `{` + topic + `,"data":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, 400, "too_deep"},
		{"deeply nested objects", `{` + topic + `,"data":` + strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000) + `}`, 400, "too_deep"},
		{"duplicate top-level key", `{` + topic + `,"topic":"hard:other","data":1}`, 400, "duplicate_key"},
		{"duplicate nested key", `{` + topic + `,"data":{"a":1,"a":2}}`, 400, "duplicate_key"},
		{"case-folded duplicate", `{` + topic + `,"TOPIC":"hard:other","data":1}`, 400, "unknown_field"},
		{"truncated", `{` + topic + `,"data":{"a":`, 400, "invalid_json"},
		{"truncated string", `{` + topic + `,"data":"abc`, 400, "invalid_json"},
		{"trailing data", `{` + topic + `,"data":1}{"x":1}`, 400, "invalid_json"},
		{"not an object", `[` + topic + `]`, 400, "invalid_json"},
		{"empty", ``, 400, "invalid_json"},
		{"unknown field", `{` + topic + `,"data":1,"admin":true}`, 400, "unknown_field"},
		{"wrong type", `{"topic":42,"data":1}`, 400, "wrong_type"},
		{"too large", `{` + topic + `,"data":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "body_too_large"},
	}
	ctl.during(t, func() {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := post(t, r.pub.URL+"/v1/events", []byte(tc.body), bearer(staticToken))
				if res.Status != tc.status {
					t.Fatalf("status %d %s, want %d", res.Status, res.Body, tc.status)
				}
				var b errorBody
				if err := json.Unmarshal(res.Body, &b); err != nil || b.Error.Code == "" {
					t.Fatalf("body %q is not a JSON error", res.Body)
				}
				if !slices.Contains(strings.Split(tc.code, "|"), b.Error.Code) {
					t.Fatalf("code %q, want %q", b.Error.Code, tc.code)
				}
			})
		}
		t.Run("body cut short on the wire", func(t *testing.T) {
			status, body := truncatedPost(t, r.pub.URL, `{`+topic+`,"data":{"x":"`+strings.Repeat("y", 100))
			if status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", status, body)
			}
		})
	})
	ctl.verify(t)
}

// truncatedPost sends a request announcing more body than it sends, then
// half-closes the connection, and returns the answer.
func truncatedPost(t *testing.T, baseURL, body string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		staticToken, len(body)+500, body)
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSlowloris: a client that sends its request headers one byte at a
// time is cut off by the server once ReadHeaderTimeout has passed, without
// having sent them all; other clients are not affected.
func TestSlowloris(t *testing.T) {
	const timeout = 500 * time.Millisecond
	cfg := gateway.ProgramConfig{}
	cfg.HTTP.ReadHeaderTimeout = timeout
	r := startRig(t, cfg)
	ctl := r.newControl(t, controlTopic, 1)
	ctl.during(t, func() {
		var wg sync.WaitGroup
		results := make(chan string, 5)
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- slowloris(r.gw.URL, timeout)
			}()
		}
		wg.Wait()
		close(results)
		for res := range results {
			if res != "" {
				t.Error(res)
			}
		}
	})
	ctl.verify(t)
}

// slowloris drips a request header byte by byte every 50 ms and reports
// "" when the server closed the connection between timeout and timeout+3s
// before the header was complete (net/http may first write a plain-text
// "400 Bad Request": nothing reached the handlers), else what went wrong.
func slowloris(baseURL string, timeout time.Duration) string {
	c, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	req := "GET " + streamPath + "?topic=hard:slow HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 400) + "\r\n\r\n"
	start := time.Now()
	buf := make([]byte, 512)
	var answer []byte
	for i := 0; i < len(req); i++ {
		if _, err := c.Write([]byte{req[i]}); err != nil {
			return check(start, timeout, i, len(req), answer)
		}
		// The read deadline paces the drip and notices the close.
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(buf)
		answer = append(answer, buf[:n]...)
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		if err == nil {
			// Part of the server's last words: read on to the close.
			continue
		}
		return check(start, timeout, i, len(req), answer)
	}
	return fmt.Sprintf("sent the whole header in %v without being cut off", time.Since(start))
}

func check(start time.Time, timeout time.Duration, sent, total int, answer []byte) string {
	el := time.Since(start)
	switch {
	case len(answer) > 0 && !strings.HasPrefix(string(answer), "HTTP/1.1 400 ") && !strings.HasPrefix(string(answer), "HTTP/1.1 408 "):
		return fmt.Sprintf("server answered %q", answer)
	case sent >= total-2:
		return "the connection closed only at the end of the header"
	case el < timeout-50*time.Millisecond:
		return fmt.Sprintf("closed after %v, before ReadHeaderTimeout %v", el, timeout)
	case el > timeout+3*time.Second:
		return fmt.Sprintf("closed only after %v", el)
	}
	return ""
}

// TestOversizedHeader: a request header block larger than MaxHeaderBytes
// gets 431 from both services, whatever route it aims at.
func TestOversizedHeader(t *testing.T) {
	r := startRig(t, gateway.ProgramConfig{})
	ctl := r.newControl(t, controlTopic, 1)
	big := strings.Repeat("c", 64<<10)
	ctl.during(t, func() {
		for _, u := range []string{r.gw.URL + streamPath + "?topic=hard:big", r.pub.URL + "/v1/events"} {
			for _, h := range []http.Header{{"Cookie": {"ssegate_token=" + big}}, {"X-Junk": {big}}, {"Authorization": {"Bearer " + big}}} {
				res := get(t, u, h)
				if res.Status != http.StatusRequestHeaderFieldsTooLarge {
					t.Fatalf("%s with a %d-byte header: %d %.200s", u, len(big), res.Status, res.Body)
				}
			}
		}
		// Just under the limit is served normally.
		if res := get(t, r.gw.URL+"/healthz", http.Header{"X-Junk": {strings.Repeat("c", 12<<10)}}); res.Status != http.StatusOK {
			t.Fatalf("12 KiB header: %d", res.Status)
		}
	})
	ctl.verify(t)
}
