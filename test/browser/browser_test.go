package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/testproc"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	// envRequire turns "no browser" from a skip into a failure (CI).
	envRequire = "REQUIRE_BROWSER"
	// chromiumBin is Debian's chromium.
	chromiumBin = "/usr/bin/chromium"
	// envOutput overrides the directory the screenshot is written to.
	envOutput = "SSEGATE_TEST_OUTPUT"
	// screenshotName is the file name of the board screenshot.
	screenshotName = "browser-board.png"
)

// chromium returns the browser to drive, or skips (fails with
// REQUIRE_BROWSER) when there is none. Debian's chromium comes first.
func chromium(t *testing.T) string {
	t.Helper()
	return testproc.Require(t, envRequire, "apt-get install chromium", chromiumBin, "chromium")
}

// startGatewayAt runs a gateway with cfg on addr ("127.0.0.1:0" picks a
// port) and returns the address it listens on: a fixed address, so a
// restart keeps the page's origin and the browser's stream URL valid.
// Binding again right after a stop can briefly fail, so it retries for up
// to 5 s. Stop it with stopGateway (cleanup does too).
func startGatewayAt(t *testing.T, addr string, cfg gateway.ProgramConfig) (*harness.Gateway, string) {
	t.Helper()
	var ln net.Listener
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		ln, err = net.Listen("tcp", addr)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // the old listener's port is being released; bounded by the deadline
	}
	g := harness.StartGatewayOn(t, ln, cfg)
	t.Cleanup(func() { stopGateway(t, g) }) // runs before harness's own cleanup, which then has nothing to stop
	return g, ln.Addr().String()
}

// stopGateway drains and ends the gateway (open streams get `event:
// shutdown`), waits for it and fails the test if its Run failed; calling
// it again is a no-op.
func stopGateway(t *testing.T, g *harness.Gateway) {
	t.Helper()
	if err := g.Stop(t); err != nil {
		t.Errorf("gateway run: %v", err)
	}
}

// spool is one published spool update and the ID the publisher gave it.
type spool struct {
	ID        string `json:"-"`
	EventType string `json:"event_type"`
	TagSpool  string `json:"tag_spool"`
	Worker    string `json:"worker_nombre"`
	Detail    string `json:"estado_detalle"`
}

// makeSpool is the i-th update of the test: five spools, each moving
// through the state machine, with a worker and a detail that change.
func makeSpool(i int) spool {
	types := []string{"TOMAR", "PAUSAR", "TOMAR", "COMPLETAR", "STATE_CHANGE"}
	workers := []string{"Ana Pérez", "Bruno Díaz", "Carla Soto", "Diego Ruiz"}
	return spool{
		EventType: types[(i+i/5)%len(types)],
		TagSpool:  fmt.Sprintf("MK-%04d", 1001+i%5),
		Worker:    workers[i%len(workers)],
		Detail:    fmt.Sprintf("step %d", i),
	}
}

// publishSpool posts s to the publisher's POST /publish and returns s with
// its stream ID. It returns errors instead of failing, so a helper
// goroutine can use it.
func publishSpool(client *http.Client, baseURL string, s spool) (spool, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return s, fmt.Errorf("marshal: %w", err)
	}
	resp, err := client.Post(baseURL+"/publish", "application/json", bytes.NewReader(body))
	if err != nil {
		return s, fmt.Errorf("publish %s: %w", s.Detail, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return s, fmt.Errorf("publish %s: %s %s", s.Detail, resp.Status, raw)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return s, fmt.Errorf("publish %s: bad answer %s: %w", s.Detail, raw, err)
	}
	if out.ID == "" {
		return s, fmt.Errorf("publish %s: bad answer %s: no id", s.Detail, raw)
	}
	s.ID = out.ID
	return s, nil
}

// pageEvent is one entry of window.__ssegate.events.
type pageEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data spool  `json:"data"`
}

// pageState is the rest of window.__ssegate.
type pageState struct {
	Status      string `json:"status"`
	Resets      int    `json:"resets"`
	Opens       int    `json:"opens"`
	Received    int    `json:"received"`
	LastEventID string `json:"lastEventId"`
}

// boardRow is one row of the spool board as the user sees it.
type boardRow struct {
	Tag    string `json:"tag"`
	State  string `json:"state"`
	Worker string `json:"worker"`
	Detail string `json:"detail"`
}

// TestBoardSurvivesGatewayRestart opens the demo page in Chromium, publishes
// spool updates, restarts the gateway on the same address while publishing
// goes on, and requires the page to end with every update exactly once, in
// publish order, and the board to show each spool's latest state.
func TestBoardSurvivesGatewayRestart(t *testing.T) {
	const (
		before  = 10 // published while the first gateway runs
		total   = 60 // published in all
		down    = 5  // at least this many while no gateway runs
		waitFor = 20 * time.Second
	)
	bin := chromium(t)
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	redis := redistest.Start(t)
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
	cfg := gateway.ProgramConfig{
		Config: gateway.Config{
			PingInterval: time.Second,
			Retry:        200 * time.Millisecond, // the browser reconnects quickly
			DrainWindow:  50 * time.Millisecond,
		},
		RedisURL:      redis.URL(),
		ShutdownGrace: 5 * time.Second,
	}
	first, addr := startGatewayAt(t, "127.0.0.1:0", cfg)
	pageURL := "http://" + addr + "/?topic=spools:updates"

	ctx := openPage(t, bin, pageURL)
	waitPage(t, ctx, `window.__ssegate && window.__ssegate.status === 'open'`, 10*time.Second, "the page's stream to open")

	var published []spool
	for i := range before {
		s, err := publishSpool(client, pub.URL, makeSpool(i))
		if err != nil {
			t.Fatal(err)
		}
		published = append(published, s)
	}
	waitPage(t, ctx, fmt.Sprintf(`window.__ssegate.received >= %d`, before), waitFor, "the first updates")

	// Publish the rest from a helper goroutine at a steady pace while the
	// gateway restarts. It reports each publish on progress and ends after
	// total-before publishes or the first error.
	type result struct {
		spools []spool
		err    error
	}
	progress := make(chan int, total)
	results := make(chan result, 1)
	stop, finished := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-finished }) // before the publisher stops
	go func() {
		defer close(finished)
		var r result
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
	publishing:
		for i := before; i < total; i++ {
			select {
			case <-tick.C:
			case <-stop:
				r.err = fmt.Errorf("stopped after %d updates", len(r.spools))
				break publishing
			}
			s, err := publishSpool(client, pub.URL, makeSpool(i))
			if err != nil {
				r.err = err
				break
			}
			r.spools = append(r.spools, s)
			progress <- len(r.spools)
		}
		close(progress)
		results <- r
	}()
	seen := 0 // updates the helper has published so far
	awaitProgress := func(n int) {
		t.Helper()
		timeout := time.After(waitFor)
		for seen < n {
			select {
			case got, ok := <-progress:
				if !ok {
					return // finished or failed: results says which
				}
				seen = got
			case <-timeout:
				t.Fatalf("publishing stalled at %d updates, waiting for %d", seen, n)
			}
		}
	}
	drainProgress := func() {
		for {
			select {
			case got, ok := <-progress:
				if !ok {
					return
				}
				seen = got
			default:
				return
			}
		}
	}

	awaitProgress(3)
	stopGateway(t, first) // sends `event: shutdown` and closes the page's stream
	drainProgress()
	downFrom := seen
	awaitProgress(downFrom + down) // published while no gateway listens
	drainProgress()
	downTo := seen
	startGatewayAt(t, addr, cfg)
	var r result
	select {
	case r = <-results:
	case <-time.After(waitFor):
		t.Fatal("publishing did not finish")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	published = append(published, r.spools...)

	waitPage(t, ctx, fmt.Sprintf(`window.__ssegate.received >= %d && window.__ssegate.status === 'open'`, total), waitFor,
		fmt.Sprintf("all %d updates after the restart", total))

	events := evaluate[[]pageEvent](t, ctx, `window.__ssegate.events`)
	state := evaluate[pageState](t, ctx, `window.__ssegate`)
	rows := evaluate[[]boardRow](t, ctx, `Array.from(document.querySelectorAll('#board tr')).map(tr => ({
		tag: tr.cells[0].textContent, state: tr.cells[1].textContent,
		worker: tr.cells[2].textContent, detail: tr.cells[3].textContent}))`)
	shot := screenshot(t, ctx)
	t.Logf("restart: %d updates published before the first gateway had stopped, %d while no gateway ran, %d after the restart",
		before+downFrom, downTo-downFrom, len(published)-before-downTo)

	t.Logf("browser: %d events received (%d published), %d connections opened, %d resets, last id %s, status %s",
		state.Received, len(published), state.Opens, state.Resets, state.LastEventID, state.Status)
	t.Logf("screenshot: %s", shot)

	if len(events) != len(published) || state.Received != len(published) {
		t.Errorf("page has %d events (received %d), want %d", len(events), state.Received, len(published))
	}
	for i := range min(len(events), len(published)) {
		got, want := events[i], published[i]
		got.Data.ID = want.ID
		if got.ID != want.ID || got.Type != "message" || got.Data != want {
			t.Errorf("event %d: got %s %q %+v, want message %q %+v", i, got.Type, got.ID, got.Data, want.ID, want)
		}
	}
	if state.Resets != 0 {
		t.Errorf("page saw %d resets, want 0: nothing was lost", state.Resets)
	}
	if state.Opens < 2 {
		t.Errorf("page opened its stream %d times, want at least 2 (before and after the restart)", state.Opens)
	}
	if last := published[len(published)-1].ID; state.LastEventID != last {
		t.Errorf("page's last event id %q, want %q", state.LastEventID, last)
	}

	latest := map[string]spool{}
	for _, s := range published {
		latest[s.TagSpool] = s
	}
	if len(rows) != len(latest) {
		t.Errorf("board has %d rows, want %d: %+v", len(rows), len(latest), rows)
	}
	for _, row := range rows {
		s, ok := latest[row.Tag]
		if !ok {
			t.Errorf("board row for unknown spool %q", row.Tag)
			continue
		}
		if want := (boardRow{Tag: s.TagSpool, State: s.EventType, Worker: s.Worker, Detail: s.Detail}); row != want {
			t.Errorf("board row %+v, want the latest update %+v", row, want)
		}
	}
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// a tab context; t.Cleanup closes the browser and waits for it to exit.
// extra adds options (flags) to the defaults.
func newBrowser(t *testing.T, bin string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // small /dev/shm in CI containers
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1280, 960),
	}
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits until the browser process has exited
	})
	return ctx
}

// reducedMotion makes the page's CSS see prefers-reduced-motion: reduce.
func reducedMotion(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	})
	return chromedp.Void{}, err
}

// waitPage polls the JavaScript predicate in the page until it is truthy,
// failing the test with what after timeout.
// openPage starts a browser and opens pageURL in it.
func openPage(t *testing.T, bin, pageURL string) context.Context {
	t.Helper()
	ctx := newBrowser(t, bin)
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("navigate %s: %v", pageURL, err)
	}
	return ctx
}

func waitPage(t *testing.T, ctx context.Context, predicate string, timeout time.Duration, what string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(pctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](`JSON.stringify({status: window.__ssegate && window.__ssegate.status,
			received: window.__ssegate && window.__ssegate.received, opens: window.__ssegate && window.__ssegate.opens})`))
		t.Fatalf("waiting for %s (%s): %v; page state %s", what, predicate, err, state)
	}
}

// evaluate runs expression in the page and decodes its value.
func evaluate[T any](t *testing.T, ctx context.Context, expression string) T {
	t.Helper()
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ectx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluate %q: %v", expression, err)
	}
	return v
}

// screenshot saves a full-page PNG of the board and returns its path:
// $SSEGATE_TEST_OUTPUT/browser-board.png, else test/output/ in the
// repository (git-ignored), where CI collects it.
func screenshot(t *testing.T, ctx context.Context) string {
	t.Helper()
	dir := os.Getenv(envOutput)
	if dir == "" {
		dir = filepath.Join("..", "output") // go test runs in test/browser
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("output dir: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("output dir: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Stop the rows' 1.6 s highlight animation (the page honours
	// prefers-reduced-motion), so the picture shows the settled board.
	if err := chromedp.Do(sctx, reducedMotion); err != nil {
		t.Fatalf("emulate reduced motion: %v", err)
	}
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, screenshotName)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	return path
}
