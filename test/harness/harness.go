// Package harness starts ssegate's real programs in-process for integration
// tests, on loopback ports, and gives tests an SSE client that reads the
// stream the way a browser's EventSource does. Everything it starts is
// stopped by t.Cleanup, and every wait has a deadline.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/publisher"
)

// Logger returns a logger for programs under test: silent unless
// SSEGATE_TEST_LOG=1.
func Logger() *slog.Logger {
	if os.Getenv("SSEGATE_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// running is a program's Run goroutine, started by runProgram: its owner
// (a Gateway or a Publisher) ends it with stop.
type running struct {
	cancel context.CancelFunc
	done   chan error // Run's result; closed once a stop has taken it
}

// runProgram starts run(ctx) in a goroutine that ends when stop cancels
// ctx.
func runProgram(run func(ctx context.Context) error) running {
	ctx, cancel := context.WithCancel(context.Background())
	r := running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx) }()
	return r
}

// stop cancels the program and returns Run's result, failing the test if
// it has not returned within timeout. Stopping again returns nil.
func (r running) stop(t testing.TB, what string, timeout time.Duration) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if !ok {
			return nil
		}
		close(r.done)
		return err
	case <-time.After(timeout):
		t.Fatalf("%s did not stop within %v", what, timeout)
		return nil
	}
}

// Gateway is a running gateway program.
type Gateway struct {
	URL      string // http://127.0.0.1:port
	Program  *gateway.Program
	Registry *prometheus.Registry
	run      running
}

// Stop shuts the gateway down (graceful drain) and waits for it, returning
// Run's error; Cleanup calls it too, so calling it early (to test
// shutdown) is fine, and later calls return nil.
func (g *Gateway) Stop(t testing.TB) error {
	t.Helper()
	return g.run.stop(t, "gateway", 60*time.Second)
}

// StartGateway runs a gateway with cfg on a free loopback port. An empty
// cfg.RedisURL runs the embedded broker with the publisher API mounted.
func StartGateway(t testing.TB, cfg gateway.ProgramConfig) *Gateway {
	t.Helper()
	return StartGatewayOn(t, Listen(t), cfg)
}

// StartGatewayOn is StartGateway on a listener the caller chose, e.g. one
// on the address of a gateway it stopped, so clients can reconnect to the
// same origin. The gateway owns ln from then on.
func StartGatewayOn(t testing.TB, ln net.Listener, cfg gateway.ProgramConfig) *Gateway {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = Logger()
	}
	reg := prometheus.NewRegistry()
	cfg.HTTP.Registry = reg
	if cfg.Embed == nil {
		cfg.Embed = func(e *echo.Echo, b *membroker.Broker, r prometheus.Registerer) {
			publisher.New(b, publisher.Config{Logger: cfg.Logger, Registry: r}).Register(e)
		}
	}
	p, err := gateway.NewProgram(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("gateway: %v", err)
	}
	g := &Gateway{URL: "http://" + ln.Addr().String(), Program: p, Registry: reg}
	if cfg.HTTP.TLS != nil {
		g.URL = "https://" + ln.Addr().String()
	}
	g.run = runProgram(func(ctx context.Context) error { return p.Run(ctx, ln) })
	t.Cleanup(func() { _ = g.Stop(t) })
	if cfg.HTTP.TLS != nil {
		Eventually(t, 10*time.Second, "the gateway answers /healthz over TLS", func() bool {
			return httpserver.Healthcheck(context.Background(), ln.Addr().String(), true) == nil
		})
	} else {
		WaitHTTP(t, g.URL+"/healthz", http.StatusOK)
	}
	return g
}

// Publisher is a running publisher program.
type Publisher struct {
	URL      string
	Registry *prometheus.Registry
	run      running
}

// Stop shuts the publisher down and waits for it.
func (p *Publisher) Stop(t testing.TB) {
	t.Helper()
	_ = p.run.stop(t, "publisher", 30*time.Second)
}

// StartPublisher runs a publisher with cfg on a free loopback port.
func StartPublisher(t testing.TB, cfg publisher.ProgramConfig) *Publisher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = Logger()
	}
	reg := prometheus.NewRegistry()
	cfg.HTTP.Registry = reg
	prog, err := publisher.NewProgram(cfg)
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	ln := Listen(t)
	p := &Publisher{URL: "http://" + ln.Addr().String(), Registry: reg}
	p.run = runProgram(func(ctx context.Context) error { return prog.Run(ctx, ln) })
	t.Cleanup(func() { p.Stop(t) })
	WaitHTTP(t, p.URL+"/healthz", http.StatusOK)
	return p
}

// Listen opens a listener on a free loopback port.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

// WaitHTTP polls url until it answers want (bounded: 10 s).
func WaitHTTP(t testing.TB, url string, want int) {
	t.Helper()
	client := Client(t)
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(10 * time.Millisecond) // polling an external condition, bounded by the deadline
	}
	t.Fatalf("%s did not answer %d within 10s (last: %s)", url, want, last)
}

// PublishResult is a publish answer.
type PublishResult struct {
	Status    int
	Header    http.Header
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Receivers int64  `json:"receivers"`
	Body      []byte
}

// Post sends body as JSON to url with optional headers (name, value pairs).
func Post(t testing.TB, url string, body any, headers ...string) PublishResult {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := Client(t).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out := PublishResult{Status: resp.StatusCode, Header: resp.Header}
	out.Body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(out.Body, &out)
	return out
}

// PublishEvent posts a generic event and fails the test unless it is accepted.
func PublishEvent(t testing.TB, baseURL, topic string, data any) PublishResult {
	t.Helper()
	r := Post(t, baseURL+"/v1/events", map[string]any{"topic": topic, "data": data})
	if r.Status != http.StatusAccepted {
		t.Fatalf("publish to %s: %d %s", topic, r.Status, r.Body)
	}
	return r
}

// PublishEventRetrying posts a generic event the way the contract tells a
// backend to: with an Idempotency-Key, and again with the same key after a
// 503 (Redis unavailable, e.g. a connection killed under the publisher),
// until timeout. The key makes a retry of a publish that did land return
// the same event instead of a second one.
func PublishEventRetrying(t testing.TB, baseURL, topic string, data any, timeout time.Duration) PublishResult {
	t.Helper()
	key := fmt.Sprintf("retrying-%s-%d", topic, time.Now().UnixNano())
	body := map[string]any{"topic": topic, "data": data}
	deadline := time.Now().Add(timeout)
	for {
		r := Post(t, baseURL+"/v1/events", body, "Idempotency-Key", key)
		switch {
		case r.Status == http.StatusAccepted:
			return r
		case r.Status != http.StatusServiceUnavailable || time.Now().After(deadline):
			t.Fatalf("publish to %s: %d %s", topic, r.Status, r.Body)
		}
		time.Sleep(10 * time.Millisecond) // a 503 says retry later; bounded by the deadline
	}
}

// ErrTimeout is returned by Stream.Next when no event came in time.
var ErrTimeout = errors.New("no event before the deadline")

// Eventually polls cond every 10 ms until it holds, failing the test with
// what once timeout has passed. It is for state the test cannot be told
// about (Redis, metrics, HTTP answers); events and channels are awaited
// directly.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond) // polling an external condition, bounded by the deadline
	}
}
