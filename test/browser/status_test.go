package browser

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/status"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// statusToken is the gateway's status page token in these tests.
const statusToken = "browser-status-token-0123456789"

// holdStreams opens n streams on topic from Go clients, each open until
// the test ends.
func holdStreams(t *testing.T, base, topic string, n int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		client.CloseIdleConnections()
	})
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/sse/stream?topic="+topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("open a stream on %s: %v %v", topic, resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
	}
}

// TestStatusPageLive: the status page in Chromium follows the gateway live
// over its own SSE stream: 25 streams on 3 topics show as 25 connections,
// each topic with its subscribers, and a publish shows as a non-zero rate;
// the Redis subscription shows up. Without the token the same path is the
// gateway's 404 and the browser shows none of it.
func TestStatusPageLive(t *testing.T) {
	const waitFor = 20 * time.Second
	bin := chromium(t)
	redis := redistest.Start(t)
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
	_, addr := startGatewayAt(t, "127.0.0.1:0", gateway.ProgramConfig{
		RedisURL: redis.URL(), Status: gateway.StatusConfig{Token: statusToken, Version: "v-browser"},
	})
	base := "http://" + addr
	ctx := openPage(t, bin, base+status.PagePath+"?token="+statusToken)
	waitPage(t, ctx, `document.body.dataset.state === 'live' && document.getElementById('connections').textContent === '0'`,
		waitFor, "the page to show the live status")
	topics := map[string]int{"status:a": 10, "status:b": 8, "status:c": 7}
	for topic, n := range topics {
		holdStreams(t, base, topic, n)
	}
	waitPage(t, ctx, `document.getElementById('connections').textContent === '25'`, waitFor, "25 connections on the page")
	for topic, n := range topics {
		waitPage(t, ctx, fmt.Sprintf(`(() => { const r = document.querySelector('#topics tr[data-topic="%s"]');
  return r !== null && r.querySelector('.subscribers').textContent === '%d'; })()`, topic, n),
			waitFor, fmt.Sprintf("%s with %d subscribers", topic, n))
	}
	for i := range 5 {
		harness.PublishEvent(t, pub.URL, "status:b", map[string]int{"n": i})
	}
	waitPage(t, ctx, `(() => { const r = document.querySelector('#topics tr[data-topic="status:b"]');
  return r !== null && r.querySelector('.events').textContent === '5' && parseFloat(r.querySelector('.rate').textContent) > 0; })()`,
		waitFor, "status:b's 5 events and a non-zero rate")
	if n := evaluate[int](t, ctx, `document.querySelectorAll('#topics tbody tr').length`); n != 3 {
		t.Errorf("the page lists %d topics, want 3", n)
	}
	waitPage(t, ctx, `document.querySelector('#shards tr[data-state="up"]') !== null`, waitFor, "the Redis subscription up")
	if v := evaluate[string](t, ctx, `document.getElementById('version').textContent`); v != "v-browser (none)" && v != "v-browser" {
		t.Errorf("version %q, want v-browser", v)
	}

	// Without the token: the gateway's 404, nothing of the page.
	resp, err := http.Get(base + status.PagePath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s without token = %d, want 404", status.PagePath, resp.StatusCode)
	}
	bare := openPage(t, bin, base+status.PagePath)
	waitPage(t, bare, `document.readyState === 'complete'`, waitFor, "the page without token to load")
	if shown := evaluate[string](t, bare, `document.body ? document.body.innerText : ''`); len(shown) > 200 ||
		evaluate[bool](t, bare, `document.getElementById('connections') !== null || document.body.innerText.includes('status:')`) {
		t.Errorf("without the token the browser shows %q", shown)
	}
}
