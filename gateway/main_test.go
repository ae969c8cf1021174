package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/streamid"
)

// TestMain checks that no test of the package (in-package or gateway_test)
// leaves a goroutine behind. It is the only TestMain of the test binary.
func TestMain(m *testing.M) {
	code := m.Run()
	// harness.WaitHTTP and harness.Post use http.DefaultClient, whose
	// keep-alive connections stay idle in the transport (two goroutines
	// each): close them so goleak reports only real leaks. A test on a
	// Redis Cluster leaves the cluster client's ownerless goroutines
	// (redistest.IgnoreClusterClient).
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(redistest.IgnoreClusterClient()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newTestMetrics returns metrics on a private registry.
func newTestMetrics() *Metrics {
	return NewMetrics(prometheus.NewRegistry(), func() bool { return true })
}

// newTestHub returns a hub with silent logs and private metrics.
func newTestHub() *hub {
	return newHub(slog.New(slog.DiscardHandler), newTestMetrics())
}

// openTopic creates topic on h positioned at known, not holding.
func openTopic(t testing.TB, h *hub, topic string, known streamid.ID) {
	t.Helper()
	h.open(topic)
	if !h.release(topic, known, 0) {
		t.Fatalf("release of new topic %q failed", topic)
	}
}

// envMsg is the channel message the broker sends for an event.
func envMsg(id streamid.ID, data string) []byte {
	return envelope.Append(nil, id, time.UnixMicro(1), "", []byte(data))
}

// sid is a stream ID with sequence 0.
func sid(ms uint64) streamid.ID { return streamid.ID{Ms: ms} }

// testServer is a gateway served on a loopback port through the same HTTP
// stack as the real program (httpserver.NewEcho and httpserver.Serve).
type testServer struct {
	*Server
	URL  string // http://127.0.0.1:port
	Addr string // 127.0.0.1:port
}

// startTestServer runs a gateway on b until the test ends.
func startTestServer(t testing.TB, b Broker, cfg Config) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registry = reg
	s := New(b, cfg)
	opts := httpserver.Options{Registry: reg, StreamRoutes: []string{"/api/sse/stream"}}
	e := httpserver.NewEcho(opts)
	s.Register(e)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	serveCtx, stopServe := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	serveDone := make(chan error, 1)
	go func() { runDone <- s.Run(runCtx) }()
	go func() { serveDone <- httpserver.Serve(serveCtx, e, ln, opts, 5*time.Second, s.Drain) }()
	t.Cleanup(func() {
		stopServe()
		if err := <-serveDone; err != nil {
			t.Errorf("serve: %v", err)
		}
		stopRun()
		if err := <-runDone; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	})
	// Streams are refused (503) until the broker delivers: wait for that
	// state rather than let the first request race Run.
	waitFor(t, 10*time.Second, "broker healthy", b.Healthy)
	return &testServer{Server: s, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String()}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// metricValue reads a counter or gauge. (prometheus/testutil would need a
// module go.mod does not list.)
func metricValue(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(fmt.Sprintf("reading metric: %v", err))
	}
	if c := out.GetCounter(); c != nil {
		return c.GetValue()
	}
	return out.GetGauge().GetValue()
}

// MetricValue is metricValue for the external test package.
func MetricValue(m prometheus.Metric) float64 { return metricValue(m) }
