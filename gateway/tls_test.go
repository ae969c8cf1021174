package gateway_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/testcert"
	"github.com/ssegate/ssegate/test/harness"
)

// startTLSGateway runs the gateway with cfg over TLS, on a certificate of
// its own.
func startTLSGateway(t *testing.T, cfg gateway.Config) (*harness.Gateway, testcert.Pair) {
	t.Helper()
	cert := testcert.Write(t, t.TempDir(), 1)
	pcfg := gateway.ProgramConfig{Config: cfg}
	pcfg.HTTP.TLS = &httpserver.CertFiles{Cert: cert.CertFile, Key: cert.KeyFile}
	return startGateway(t, pcfg), cert
}

// http2Client trusts cert, speaks HTTP/2, and counts the TCP connections
// it opens, so a test can tell streams share one.
func http2Client(t *testing.T, cert testcert.Pair) (*http.Client, *atomic.Int32) {
	t.Helper()
	dials := &atomic.Int32{}
	dialer := &net.Dialer{}
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: cert.Pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	t.Cleanup(c.CloseIdleConnections)
	return c, dials
}

// TestTLSStreams: with a certificate the gateway serves HTTPS, and a
// browser then speaks HTTP/2, where any number of streams share one
// connection instead of HTTP/1.1's six per origin. Streams over HTTP/2 and
// over HTTP/1.1 with TLS deliver, resume by Last-Event-ID, and end with the
// shutdown event when the gateway stops.
func TestTLSStreams(t *testing.T) {
	t.Parallel()
	const h2Streams = 10
	g, cert := startTLSGateway(t, gateway.Config{DrainWindow: 50 * time.Millisecond})
	h2, dials := http2Client(t, cert)
	h1 := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cert.Pool},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
	}}
	t.Cleanup(h1.CloseIdleConnections)

	url := streamURL(g, "topic=tls")
	var streams []*harness.Stream
	for range h2Streams {
		s := harness.SubscribeWith(t, h2, url, nil)
		if s.Resp.ProtoMajor != 2 {
			t.Fatalf("stream over %s, want HTTP/2", s.Resp.Proto)
		}
		streams = append(streams, s)
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d HTTP/2 streams took %d connections, want 1", h2Streams, n)
	}
	old := harness.SubscribeWith(t, h1, url, nil)
	if old.Resp.ProtoMajor != 1 {
		t.Fatalf("stream over %s, want HTTP/1.1", old.Resp.Proto)
	}
	streams = append(streams, old)
	waitFor(t, 5*time.Second, "streams registered", func() bool { return g.Program.Server().Connections() == len(streams) })

	var ids []string
	for i := range 3 {
		ids = append(ids, publish(t, g, "tls", strconv.Itoa(i)))
	}
	for _, s := range streams {
		for i, id := range ids {
			expectEvent(t, s, "message", id, strconv.Itoa(i))
		}
	}

	// Resume over HTTP/2 from the first event: the two after it.
	resumed := harness.SubscribeWith(t, h2, url, http.Header{"Last-Event-Id": {ids[0]}})
	expectEvent(t, resumed, "message", ids[1], "1")
	expectEvent(t, resumed, "message", ids[2], "2")
	streams = append(streams, resumed)

	if err := g.Stop(t); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	for _, s := range streams {
		expectEvent(t, s, "shutdown", "*", `{"reason":"shutdown"}`)
	}
}

// TestTLSSlowStreamSharesConnection: over HTTP/2 a stream that stops
// reading shares its TCP connection with a stream that reads. The slow one
// is evicted, when its queue overflows (its blocked write is aborted) or
// when a write outlasts the send timeout, and the other gets every event,
// before and after.
func TestTLSSlowStreamSharesConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    gateway.Config
		reason string // connections_closed_total label
	}{
		{"queue full", gateway.Config{QueueSize: 4, SendTimeout: time.Minute}, "slow"},
		// The reading stream's writes are bound by the same timeout: it
		// must outlast a stall of a loaded -race run, or that stream is
		// (rightly) evicted too.
		{"send timeout", gateway.Config{QueueSize: 1 << 16, SendTimeout: 500 * time.Millisecond}, "send_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, cert := startTLSGateway(t, tc.cfg)
			h2, dials := http2Client(t, cert)

			good := harness.SubscribeWith(t, h2, streamURL(g, ""), nil)
			req, err := http.NewRequest(http.MethodGet, streamURL(g, ""), nil)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := h2.Do(req) // its body is never read
			if err != nil || slow.StatusCode != http.StatusOK || slow.ProtoMajor != 2 {
				t.Fatalf("slow stream: %v %v", slow, err)
			}
			t.Cleanup(func() { slow.Body.Close() })
			if n := dials.Load(); n != 1 {
				t.Fatalf("two streams took %d connections, want one shared", n)
			}
			waitFor(t, 5*time.Second, "both streams registered", func() bool { return g.Program.Server().Connections() == 2 })

			closed := g.Program.Server().Metrics().ConnectionsClosed.WithLabelValues(tc.reason)
			n := publishPaced(t, g, good, 1024, func() bool { return metricValue(closed) > 0 })
			waitFor(t, 10*time.Second, "the slow stream evicted", func() bool {
				return metricValue(closed) == 1 && g.Program.Server().Connections() == 1
			})
			id := publish(t, g, "spools:updates", "after")
			expectEvent(t, good, "message", id, "after")
			t.Logf("slow HTTP/2 stream closed (%s) after %d events of %d KiB; the stream beside it got all of them", tc.reason, n, len(bigEvent)>>10)
		})
	}
}

// TestTLSIdleStreamOutlivesSendTimeout: the send timeout bounds a write,
// not the silence between two. Over HTTP/2 a write deadline left armed
// after a write fires while the stream is idle and net/http resets the
// stream (RST_STREAM INTERNAL_ERROR), so a quiet topic lost every HTTP/2
// subscriber once SendTimeout passed without an event or keepalive.
func TestTLSIdleStreamOutlivesSendTimeout(t *testing.T) {
	t.Parallel()
	const sendTimeout = 50 * time.Millisecond
	g, cert := startTLSGateway(t, gateway.Config{SendTimeout: sendTimeout, PingInterval: time.Hour})
	h2, _ := http2Client(t, cert)
	s := harness.SubscribeWith(t, h2, streamURL(g, "topic=idle"), nil)
	if s.Resp.ProtoMajor != 2 {
		t.Fatalf("stream over %s, want HTTP/2", s.Resp.Proto)
	}
	if c, err := s.Comment(5 * time.Second); err != nil || c != "ok" {
		t.Fatalf("first comment %q, %v; want ok", c, err)
	}
	// Silence for many send timeouts: an armed deadline would have reset
	// the stream by then, which ends it.
	select {
	case <-s.Done():
		ev, err := s.Next(time.Second)
		t.Fatalf("the idle stream ended after its first write: %v %v", ev, err)
	case <-time.After(20 * sendTimeout):
	}
	id := publish(t, g, "idle", "after the silence")
	expectEvent(t, s, "message", id, "after the silence")
}
