package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/test/harness"
)

// startGateway runs the real gateway program in embedded mode.
func startGateway(t *testing.T, cfg gateway.ProgramConfig) *harness.Gateway {
	t.Helper()
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 5 * time.Second
	}
	return harness.StartGateway(t, cfg)
}

// publish appends an event to topic through the embedded broker.
func publish(t *testing.T, g *harness.Gateway, topic, data string) string {
	t.Helper()
	r, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
		Topic: topic, Data: []byte(data), AcceptedAt: time.Now(),
	})
	if err != nil {
		t.Fatalf("publish to %s: %v", topic, err)
	}
	return r.ID.String()
}

// streamURL is the stream route with a raw query.
func streamURL(g *harness.Gateway, query string) string {
	if query == "" {
		return g.URL + "/api/sse/stream"
	}
	return g.URL + "/api/sse/stream?" + query
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 { return gateway.MetricValue(m) }

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	harness.Eventually(t, timeout, what, cond)
}

// expectEvent reads the next event and checks its name, id and data ("*"
// accepts any id).
func expectEvent(t *testing.T, s *harness.Stream, name, id, data string) harness.Event {
	t.Helper()
	ev := s.MustNext(t, 5*time.Second)
	if ev.Name != name || (id != "*" && ev.ID != id) || ev.Data != data {
		t.Fatalf("got event %q id %q data %q; want %q id %q data %q", ev.Name, ev.ID, ev.Data, name, id, data)
	}
	return ev
}

// rawStream is a stream request on a plain TCP connection, for tests that
// need the wire bytes or a client that stops reading.
type rawStream struct {
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

// dialRaw connects to addr with a small receive buffer (so a client that
// does not read fills up quickly) and sends a stream request for path. It
// reads the response head unless skipHead.
func dialRaw(t *testing.T, baseURL, path string, skipHead bool) *rawStream {
	t.Helper()
	addr := strings.TrimPrefix(baseURL, "http://")
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = setRecvBuffer(fd, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, addr); err != nil {
		t.Fatalf("write request: %v", err)
	}
	rs := &rawStream{conn: c, br: bufio.NewReaderSize(c, 4096)}
	if skipHead {
		return rs
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	req, _ := http.NewRequest(http.MethodGet, path, nil)
	rs.resp, err = http.ReadResponse(rs.br, req)
	if err != nil {
		t.Fatalf("read response head: %v", err)
	}
	return rs
}
