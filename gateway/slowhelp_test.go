package gateway_test

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

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
