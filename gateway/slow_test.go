package gateway_test

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/test/harness"
)

// bigEvent is large enough that a few hundred fill any loopback socket
// buffers (the kernel allows at most 4 MiB of send buffer here).
var bigEvent = strings.Repeat("x", 32<<10)

// publishPaced publishes big events one at a time, each only after the
// well-behaved stream got the previous one, until stop says so or max
// events went out. It returns how many were published.
func publishPaced(t *testing.T, g *harness.Gateway, good *harness.Stream, max int, stop func() bool) int {
	t.Helper()
	for i := range max {
		if stop() {
			return i
		}
		id := publish(t, g, "spools:updates", bigEvent)
		expectEvent(t, good, "message", id, bigEvent)
	}
	return max
}

// expectStreamEnded reads what the server buffered for an evicted client
// and checks that its stream ended: either the response finished (the
// overflow came between two writes) or the connection was closed (a write
// was cut short), both of which make EventSource reconnect.
func expectStreamEnded(t *testing.T, rs *rawStream) {
	t.Helper()
	_ = rs.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, rs.resp.Body); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the evicted client's stream is still open")
	}
}

func TestSlowClientSendTimeout(t *testing.T) {
	t.Parallel()
	const sendTimeout = 200 * time.Millisecond
	g := startGateway(t, gateway.ProgramConfig{
		Config:  gateway.Config{SendTimeout: sendTimeout, QueueSize: 1 << 16},
		History: broker.HistoryConfig{MaxLen: 100},
	})
	m := g.Program.Server().Metrics()
	evicted := m.Evicted.WithLabelValues("send_timeout")
	good := harness.Subscribe(t, streamURL(g, ""), nil)
	slow := dialRaw(t, g.URL, "/api/sse/stream", false) // reads the head, then nothing
	waitFor(t, 5*time.Second, "both streams registered", func() bool { return g.Program.Server().Connections() == 2 })

	// 16 MiB: four times what the socket buffers can take, so the slow
	// client's writer blocks for good; then publishing stops.
	n := publishPaced(t, g, good, 512, func() bool { return metricValue(evicted) > 0 })
	stopped := time.Now()
	waitFor(t, 10*time.Second, "send-timeout eviction", func() bool { return metricValue(evicted) == 1 })
	// The blocked write started at the latest when publishing stopped, so
	// the eviction follows within about one send timeout.
	if took := time.Since(stopped); took > sendTimeout+2*time.Second {
		t.Fatalf("evicted %v after the last publish; send timeout is %v", took, sendTimeout)
	}
	expectStreamEnded(t, slow)
	waitFor(t, 5*time.Second, "closed{send_timeout}", func() bool {
		return metricValue(m.ConnectionsClosed.WithLabelValues("send_timeout")) == 1 && metricValue(m.Connections) == 1
	})
	// The good client got every event and still does.
	id := publish(t, g, "spools:updates", "after")
	expectEvent(t, good, "message", id, "after")
	t.Logf("published %d events of %d KiB before the eviction", n, len(bigEvent)>>10)
}

func TestSlowClientQueueFull(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gateway.ProgramConfig{
		// A send timeout far beyond the test's waits: the queue must trip.
		Config:  gateway.Config{SendTimeout: time.Minute, QueueSize: 4},
		History: broker.HistoryConfig{MaxLen: 100},
	})
	m := g.Program.Server().Metrics()
	good := harness.Subscribe(t, streamURL(g, ""), nil)
	slow := dialRaw(t, g.URL, "/api/sse/stream", false) // reads the head, then nothing
	waitFor(t, 5*time.Second, "both streams registered", func() bool { return g.Program.Server().Connections() == 2 })

	// The slow client's writer blocks on its full socket while its queue
	// overflows; the overflow ends the blocked write at once.
	publishPaced(t, g, good, 1024, func() bool { return metricValue(m.QueueDropped) > 0 })
	if metricValue(m.QueueDropped) == 0 {
		t.Fatal("the slow client's queue never overflowed")
	}
	waitFor(t, 10*time.Second, "queue-full eviction", func() bool {
		return metricValue(m.Evicted.WithLabelValues("queue_full")) == 1 &&
			metricValue(m.ConnectionsClosed.WithLabelValues("slow")) == 1 &&
			metricValue(m.Connections) == 1
	})
	expectStreamEnded(t, slow)
	if got := metricValue(m.Evicted.WithLabelValues("send_timeout")); got != 0 {
		t.Fatalf("evicted{send_timeout} = %v, want 0", got)
	}
	id := publish(t, g, "spools:updates", "after")
	expectEvent(t, good, "message", id, "after")
}
