package browser

import (
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// TestPageWithoutEventsSurvivesGatewayRestart (issue 11): the demo page
// opens while nothing was ever published, so the only id it has is the
// position the stream starts with (an id line without data). The gateway
// stops, one update is published while none runs, a gateway starts on the
// same address: the browser reconnects with that position in Last-Event-ID
// and the page gets the update, with no reset. Before streams carried a
// position, the page reconnected without Last-Event-ID and never saw it.
func TestPageWithoutEventsSurvivesGatewayRestart(t *testing.T) {
	const waitFor = 20 * time.Second
	bin := chromium(t)
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	redis := redistest.Start(t) // history outlives the gateway
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
	cfg := gateway.ProgramConfig{
		Config:        gateway.Config{Retry: 200 * time.Millisecond, DrainWindow: 50 * time.Millisecond},
		RedisURL:      redis.URL(),
		ShutdownGrace: 5 * time.Second,
	}
	first, addr := startGatewayAt(t, "127.0.0.1:0", cfg)
	pageURL := "http://" + addr + "/?topic=spools:updates"
	ctx := openPage(t, bin, pageURL)
	// The position comes with the stream's first bytes, before the
	// shutdown that ends it: an open stream has it.
	waitPage(t, ctx, `window.__ssegate && window.__ssegate.status === 'open'`, 10*time.Second, "the page's stream to open")

	t0 := time.Now()
	stopGateway(t, first)
	s, err := publishSpool(client, pub.URL, makeSpool(0))
	if err != nil {
		t.Fatal(err)
	}
	startGatewayAt(t, addr, cfg)
	waitPage(t, ctx, `window.__ssegate.received >= 1 && window.__ssegate.status === 'open'`, waitFor,
		"the update published while no gateway ran")

	t.Logf("the page had the update %v after the gateway began to stop", time.Since(t0))
	events := evaluate[[]pageEvent](t, ctx, `window.__ssegate.events`)
	state := evaluate[pageState](t, ctx, `window.__ssegate`)
	if len(events) != 1 || events[0].ID != s.ID || events[0].Type != "message" || events[0].Data.Detail != s.Detail {
		t.Fatalf("page events %+v, want only %s (%s)", events, s.ID, s.Detail)
	}
	if state.Resets != 0 || state.Opens < 2 {
		t.Fatalf("page saw %d resets and %d opens, want none and at least 2", state.Resets, state.Opens)
	}
}
