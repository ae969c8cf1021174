package hardening

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRedisPasswordFileRotation: both services read the password from a
// file. The file gets a new password, Redis is told (CONFIG SET
// requirepass) and every client connection is killed: both services
// reconnect with the new password and an event flows again. Neither
// password shows in the logs (debug level) or on /metrics.
func TestRedisPasswordFileRotation(t *testing.T) {
	const oldPassword, newPassword = "old-password-0123456789", "new-password-9876543210"
	srv := redistest.Start(t)
	srv.RequirePass(t, oldPassword)
	dir := t.TempDir()
	file := writeSecret(t, dir, oldPassword)
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("services' log:\n%s", logs.String())
		}
	})
	sec := redisbroker.Security{PasswordFile: file}
	pcfg := publisher.ProgramConfig{RedisURL: srv.URL() + "/0", RedisSecurity: sec}
	pcfg.Logger = log
	gcfg := gateway.ProgramConfig{RedisURL: srv.URL() + "/0", RedisSecurity: sec}
	gcfg.Logger = log
	pub := harness.StartPublisher(t, pcfg)
	gw := harness.StartGateway(t, gcfg)
	rig := &degraded{gw: gw, pub: pub}
	rig.checkUp(t)

	writeSecret(t, dir, newPassword)
	srv.RequirePass(t, newPassword)
	srv.Do(t, "CLIENT", "KILL", "TYPE", "normal")
	srv.Do(t, "CLIENT", "KILL", "TYPE", "pubsub")
	// A publish caught on a killed connection is not retried by the
	// client (it is not idempotent): 503, as a backend would retry it.
	harness.Eventually(t, upWithin, "a publish is accepted after the reconnection", func() bool {
		return harness.Post(t, pub.URL+"/v1/events", map[string]any{"topic": "rotation", "data": 1}).Status == http.StatusAccepted
	})
	rig.checkUp(t)
	for _, base := range []string{gw.URL, pub.URL} {
		metrics := string(get(t, base+"/metrics", nil).Body)
		if !strings.Contains(metrics, "# TYPE") {
			t.Fatalf("%s/metrics has no metrics:\n%.300s", base, metrics)
		}
		for _, secret := range []string{oldPassword, newPassword} {
			if strings.Contains(metrics, secret) {
				t.Fatalf("%s/metrics contains a password", base)
			}
		}
	}
	for _, secret := range []string{oldPassword, newPassword} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log contains a password:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "redis subscription connected") {
		t.Fatalf("no subscription in the log:\n%s", logs.String())
	}
}
