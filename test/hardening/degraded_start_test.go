package hardening

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// upWithin bounds how long a service may take to notice that Redis came up
// (its reconnection backoff is at most 2 s; a Sentinel needs a moment to
// answer for its master).
const upWithin = 30 * time.Second

// degraded is a gateway and a publisher started while their Redis is down.
type degraded struct {
	gw  *harness.Gateway
	pub *harness.Publisher
}

// startDegraded starts both services on url (with sentinelMaster, when
// set) while nothing answers there. Before this change NewProgram failed.
func startDegraded(t *testing.T, url, sentinelMaster string) *degraded {
	t.Helper()
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: url, SentinelMaster: sentinelMaster,
		Config: publisher.Config{RetryAfter: 2 * time.Second}})
	gw := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: url, SentinelMaster: sentinelMaster})
	return &degraded{gw: gw, pub: pub}
}

// checkDown asserts the degraded answers: alive, not ready, streams and
// publishes refused with 503, Retry-After and the JSON error
// redis_unavailable.
func (d *degraded) checkDown(t *testing.T) {
	t.Helper()
	for _, base := range []string{d.gw.URL, d.pub.URL} {
		if r := get(t, base+"/healthz", nil); r.Status != http.StatusOK {
			t.Fatalf("%s/healthz: %d %s, want 200 while Redis is down", base, r.Status, r.Body)
		}
		wantError(t, get(t, base+"/readyz", nil), http.StatusServiceUnavailable, "redis_unavailable", "Retry-After", "*")
	}
	wantError(t, get(t, d.gw.URL+streamPath+"?topic=degraded", nil), http.StatusServiceUnavailable, "redis_unavailable", "Retry-After", "*")
	wantError(t, post(t, d.pub.URL+"/v1/events", []byte(`{"topic":"degraded","data":0}`), nil),
		http.StatusServiceUnavailable, "redis_unavailable", "Retry-After", "*")
}

// checkUp waits until both services are ready, then sees an event go from
// the publisher through Redis to a stream of the gateway.
func (d *degraded) checkUp(t *testing.T) {
	t.Helper()
	for _, base := range []string{d.gw.URL, d.pub.URL} {
		harness.Eventually(t, upWithin, base+"/readyz answers 200 once Redis is up", func() bool {
			return get(t, base+"/readyz", nil).Status == http.StatusOK
		})
	}
	s := harness.Subscribe(t, d.gw.URL+streamPath+"?topic=degraded", nil)
	// Retried on 503 with the same Idempotency-Key, as the contract asks:
	// after connections were killed, rueidis's pipelined connections (two
	// on two cores, one picked at random per call) each fail their first
	// call with EOF, so one accepted publish does not mean the next one is.
	res := harness.PublishEventRetrying(t, d.pub.URL, "degraded", map[string]int{"n": 1}, upWithin)
	ev := s.MustNext(t, 10*time.Second)
	if ev.ID != res.ID || ev.Data != `{"n":1}` {
		t.Fatalf("stream got id %q data %q, want id %q data {\"n\":1}", ev.ID, ev.Data, res.ID)
	}
}

// TestStartWithRedisDown: both services start while nothing listens on
// Redis's port, serve health 200 and 503s, and once Redis starts on that
// port they become ready and an event flows from publish to stream.
func TestStartWithRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	if !srv.Restartable() {
		t.Skip("needs a Redis the test can stop (not REDIS_ADDR or a container)")
	}
	srv.Stop(t) // the port stays reserved for Restart, nothing listens on it
	d := startDegraded(t, srv.URL()+"/0", "")
	d.checkDown(t)
	srv.Restart(t)
	d.checkUp(t)
}

// TestStartWithSentinelDown: the same through Sentinel, with the Sentinel
// and the primary both down at start.
func TestStartWithSentinelDown(t *testing.T) {
	bin := sentinelBin(t)
	primary := redistest.Start(t)
	if !primary.Restartable() {
		t.Skip("needs a Redis the test can stop (not REDIS_ADDR or a container)")
	}
	primary.Stop(t)
	port := freePort(t)
	sentinel := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	d := startDegraded(t, "redis://"+sentinel, "mymaster")
	d.checkDown(t)
	primary.Restart(t)
	redistest.StartSentinel(t, bin, port, primary.Addr())
	d.checkUp(t)
}

// sentinelBin finds redis-sentinel; without REQUIRE_SENTINEL=1 (make test
// sets it) the test is skipped.
func sentinelBin(t *testing.T) string {
	t.Helper()
	if os.Getenv("REQUIRE_SENTINEL") != "1" {
		t.Skip("set REQUIRE_SENTINEL=1 (and install redis-sentinel) to run the Sentinel test")
	}
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		t.Fatalf("REQUIRE_SENTINEL=1 but no redis-sentinel: %v", err)
	}
	return bin
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
