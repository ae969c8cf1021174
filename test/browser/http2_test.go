package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/testcert"
)

// TestManyStreamsOverHTTP2: served over TLS, the gateway speaks HTTP/2 to
// Chromium, so one page holds more streams than HTTP/1.1's six connections
// per origin allow (the page's own stream plus ten more here), and each
// gets its events.
func TestManyStreamsOverHTTP2(t *testing.T) {
	const streams = 10
	bin := chromium(t)
	cert := testcert.Write(t, t.TempDir(), 1)
	cfg := gateway.ProgramConfig{Config: gateway.Config{DrainWindow: 50 * time.Millisecond}, ShutdownGrace: 5 * time.Second}
	cfg.HTTP.TLS = &httpserver.CertFiles{Cert: cert.CertFile, Key: cert.KeyFile}
	g, addr := startGatewayAt(t, "127.0.0.1:0", cfg)

	// The certificate is self-signed: this browser is told to accept it.
	ctx := newBrowser(t, bin, chromedp.Flag("ignore-certificate-errors", true))
	pageURL := "https://" + addr + "/?topic=spools:updates"
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("navigate %s: %v", pageURL, err)
	}
	waitPage(t, ctx, `window.__ssegate && window.__ssegate.status === 'open'`, 10*time.Second, "the page's stream to open")
	if proto := evaluate[string](t, ctx, `performance.getEntriesByType('navigation')[0].nextHopProtocol`); proto != "h2" {
		t.Fatalf("the page was loaded over %q, want h2", proto)
	}

	evaluate[bool](t, ctx, fmt.Sprintf(`(() => {
		window.__h2 = {opens: 0, data: []};
		for (let i = 0; i < %d; i++) {
			const es = new EventSource('/api/sse/stream?topic=h2:' + i);
			es.onopen = () => { window.__h2.opens++; };
			es.onmessage = (e) => { window.__h2.data.push(e.data); };
		}
		return true;
	})()`, streams))
	waitPage(t, ctx, fmt.Sprintf(`window.__h2.opens === %d`, streams), 10*time.Second,
		fmt.Sprintf("%d more streams to open beside the page's own", streams))

	for i := range streams {
		if _, err := g.Program.Embedded().Publish(context.Background(), broker.PublishRequest{
			Topic: fmt.Sprintf("h2:%d", i), Data: []byte(fmt.Sprintf(`"to %d"`, i)), AcceptedAt: time.Now(),
		}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	waitPage(t, ctx, fmt.Sprintf(`window.__h2.data.length === %d`, streams), 10*time.Second, "every stream's event")
	got := evaluate[[]string](t, ctx, `window.__h2.data.slice().sort()`)
	for i, d := range got {
		if want := fmt.Sprintf(`"to %d"`, i); d != want {
			t.Fatalf("events %v, want one per stream (%s)", got, want)
		}
	}
	if n := g.Program.Server().Connections(); n != streams+1 {
		t.Fatalf("gateway holds %d streams, want %d", n, streams+1)
	}
	t.Logf("Chromium over h2: %d streams open at once (%s)", streams+1, strings.Join(got, " "))
}
