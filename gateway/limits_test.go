package gateway

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
)

// TestPerIPLimitHoldsAcrossSweep: the stream whose new address entry makes
// the limiter sweep idle entries is still counted against its address, so
// a third stream from it is refused with a per-IP limit of 2.
func TestPerIPLimitHoldsAcrossSweep(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t, membroker.New(broker.HistoryConfig{}), Config{MaxConnsPerIP: 2})
	l := ts.limits
	l.mu.Lock()
	// Other addresses, idle but recent (kept by the sweep), fill the map up
	// to the sweep threshold: the next new address triggers a sweep.
	for i := range l.nextSweep {
		l.byIP[fmt.Sprintf("198.51.%d.%d", i/256, i%256)] = &ipState{seen: time.Now()}
	}
	l.mu.Unlock()
	for i := range 2 {
		if resp := openStream(t, ts, streamPath); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %s", i+1, resp.Status)
		}
	}
	l.mu.Lock()
	swept := l.nextSweep > minSweep // a sweep raises the threshold
	l.mu.Unlock()
	if !swept {
		t.Fatal("the limiter did not sweep (the test no longer covers the sweep)")
	}
	resp := openStream(t, ts, streamPath)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third stream from one address with a limit of 2: %s, want 429", resp.Status)
	}
}
