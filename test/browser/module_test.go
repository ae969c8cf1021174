package browser

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// TestModuleImport: a page imports the client as the ES module the gateway
// serves (/static/ssegate.mjs, the npm package's source as it is), connects
// and gets a published event, parsed, with its id. The module is the same
// library as the classic script the demo page loaded (window.SSEGate).
func TestModuleImport(t *testing.T) {
	const waitFor = 20 * time.Second
	bin := chromium(t)
	redis := redistest.Start(t)
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
	_, addr := startGatewayAt(t, "127.0.0.1:0", gateway.ProgramConfig{RedisURL: redis.URL()})
	ctx := newBrowser(t, bin)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	evaluate[bool](t, ctx, `window.__esm = {events: [], statuses: []};
import('/static/ssegate.mjs').then((m) => {
  window.__esm.same = m.default === m.SSEGate && m.SSEGate.connect === m.connect &&
    typeof window.SSEGate === 'object' && window.SSEGate.version === m.SSEGate.version && window.SSEGate !== m.SSEGate;
  window.__esm.sub = m.connect({topics: ['esm:board'],
    onEvent: (name, data, id) => window.__esm.events.push({name, data, id}),
    onStatus: (s) => window.__esm.statuses.push(s)});
}, (err) => { window.__esm.error = String(err); });
true`)
	waitPage(t, ctx, `window.__esm.error || window.__esm.statuses.includes('open')`, waitFor, "the module's stream to open")
	if msg := evaluate[string](t, ctx, `String(window.__esm.error || '')`); msg != "" {
		t.Fatalf("import /static/ssegate.mjs: %s", msg)
	}
	if !evaluate[bool](t, ctx, `window.__esm.same`) {
		t.Fatal("the module's exports are not the library the classic script defines")
	}
	id := harness.PublishEvent(t, pub.URL, "esm:board", map[string]string{"tag_spool": "SP-9"}).ID
	waitPage(t, ctx, `window.__esm.events.length >= 1`, waitFor, "the published event")
	type event struct {
		Name string            `json:"name"`
		Data map[string]string `json:"data"`
		ID   string            `json:"id"`
	}
	got := evaluate[[]event](t, ctx, `window.__esm.events`)
	if len(got) != 1 || got[0].Name != "message" || got[0].ID != id || got[0].Data["tag_spool"] != "SP-9" {
		t.Fatalf("module client got %+v, want one message %s with tag_spool SP-9", got, id)
	}
	evaluate[bool](t, ctx, `window.__esm.sub.close(); true`)
}
