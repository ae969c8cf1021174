package browser

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// stateSpools is the number of spools the state tests publish.
const stateSpools = 20

// stateSpool is update n of spool k (0 ≤ k < stateSpools): the tag says
// which spool, the detail which update, so a row shows whether it holds
// the spool's latest state.
func stateSpool(k, n int) spool {
	types := []string{"TOMAR", "PAUSAR", "COMPLETAR", "STATE_CHANGE"}
	workers := []string{"Ana Pérez", "Bruno Díaz", "Carla Soto", "Diego Ruiz"}
	return spool{
		EventType: types[(k+n)%len(types)],
		TagSpool:  fmt.Sprintf("ST-%03d", k+1),
		Worker:    workers[(k*3+n)%len(workers)],
		Detail:    fmt.Sprintf("update %d of spool %d", n, k+1),
	}
}

// stateStack is Redis, a publisher and a gateway on a fixed address (so
// it can be stopped and started again under the page).
type stateStack struct {
	redis  *redistest.Server
	pubURL string
	client *http.Client
	cfg    gateway.ProgramConfig
	gw     *harness.Gateway
	addr   string
	// latest is every spool's latest published update, by tag.
	latest map[string]spool
	// order is every published update in publish (= stream) order.
	order []spool
}

func startStateStack(t *testing.T) *stateStack {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	redis := redistest.Start(t)
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})
	cfg := gateway.ProgramConfig{
		Config:        gateway.Config{Retry: 200 * time.Millisecond, DrainWindow: 50 * time.Millisecond},
		RedisURL:      redis.URL(),
		ShutdownGrace: 5 * time.Second,
	}
	st := &stateStack{redis: redis, pubURL: pub.URL, client: client, cfg: cfg, latest: map[string]spool{}}
	st.gw, st.addr = startGatewayAt(t, "127.0.0.1:0", cfg)
	return st
}

// publish posts s through POST /publish and records it.
func (st *stateStack) publish(t *testing.T, s spool) {
	t.Helper()
	s, err := publishSpool(st.client, st.pubURL, s)
	if err != nil {
		t.Fatal(err)
	}
	st.latest[s.TagSpool] = s
	st.order = append(st.order, s)
}

// publishRounds publishes update n of every spool for n in [from, to):
// spool k gets 1 + (k mod 3) of them, so some spools have several
// updates and only the latest must show.
func (st *stateStack) publishRounds(t *testing.T, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		for k := range stateSpools {
			if n-from < 1+k%3 {
				st.publish(t, stateSpool(k, n))
			}
		}
	}
}

// boardRows reads the board as the user sees it.
func boardRows(t *testing.T, ctx context.Context) []boardRow {
	t.Helper()
	return evaluate[[]boardRow](t, ctx, `Array.from(document.querySelectorAll('#board tr')).map(tr => ({
		tag: tr.cells[0].textContent, state: tr.cells[1].textContent,
		worker: tr.cells[2].textContent, detail: tr.cells[3].textContent}))`)
}

// checkBoard requires one row per published spool, each with its latest
// update, in tag order.
func (st *stateStack) checkBoard(t *testing.T, ctx context.Context) {
	t.Helper()
	rows := boardRows(t, ctx)
	if len(rows) != len(st.latest) {
		t.Fatalf("board has %d rows, want %d: %+v", len(rows), len(st.latest), rows)
	}
	if !slices.IsSortedFunc(rows, func(a, b boardRow) int { return strings.Compare(a.Tag, b.Tag) }) {
		t.Errorf("board rows not in tag order: %+v", rows)
	}
	for _, row := range rows {
		s, ok := st.latest[row.Tag]
		if !ok {
			t.Errorf("board row for unknown spool %q", row.Tag)
			continue
		}
		if want := (boardRow{Tag: s.TagSpool, State: s.EventType, Worker: s.Worker, Detail: s.Detail}); row != want {
			t.Errorf("board row %+v, want the latest update %+v", row, want)
		}
	}
}

// stateHook is the state part of window.__ssegate.
type stateHook struct {
	Complete  bool   `json:"complete"`
	StateKeys int    `json:"stateKeys"`
	States    int    `json:"states"`
	Position  string `json:"position"`
	Resets    int    `json:"resets"`
	Received  int    `json:"received"`
}

// waitComplete waits until the page has seen markers markers, is complete
// and shows rows rows.
func waitComplete(t *testing.T, ctx context.Context, markers, rows int, what string) stateHook {
	t.Helper()
	waitPage(t, ctx, fmt.Sprintf(`window.__ssegate && window.__ssegate.states === %d && window.__ssegate.complete &&
		document.body.dataset.board === 'complete' && document.querySelectorAll('#board tr').length === %d`, markers, rows),
		20*time.Second, what)
	return evaluate[stateHook](t, ctx, `window.__ssegate`)
}

// TestBoardLoadsStateThenLive (issue 14): 20 spools are updated (several
// of them more than once) before the demo page opens. The page must show
// 20 rows, each with its spool's latest update, mark itself complete on
// the `event: state` marker with 20 keys, having received exactly the 20
// latest events (in stream order) and no older one, then apply live
// updates. Before the page asked for the state, it stayed empty.
func TestBoardLoadsStateThenLive(t *testing.T) {
	bin := chromium(t)
	st := startStateStack(t)
	st.publishRounds(t, 0, 3)

	ctx := openPage(t, bin, "http://"+st.addr+"/?topic=spools:updates")
	got := waitComplete(t, ctx, 1, stateSpools, "the board's state")
	st.checkBoard(t, ctx)
	last := st.order[len(st.order)-1].ID
	if got.StateKeys != stateSpools || got.Position != last || got.Resets != 0 {
		t.Errorf("page state %+v, want %d keys at %s and no reset", got, stateSpools, last)
	}
	var want []string // the latest update of each spool, in stream order
	for _, s := range st.order {
		if st.latest[s.TagSpool].ID == s.ID {
			want = append(want, s.ID)
		}
	}
	events := evaluate[[]pageEvent](t, ctx, `window.__ssegate.events`)
	ids := make([]string, len(events))
	for i, ev := range events {
		ids[i] = ev.ID
	}
	if !slices.Equal(ids, want) {
		t.Errorf("page received ids %v, want the latest per spool in stream order %v", ids, want)
	}
	text := evaluate[string](t, ctx, `document.getElementById('board-state').textContent`)
	if !strings.Contains(text, "complete") || !strings.Contains(text, fmt.Sprint(stateSpools)) {
		t.Errorf("board indicator %q, want it to say complete with %d spools", text, stateSpools)
	}

	// Live: an update of three known spools and one new spool.
	for _, s := range []spool{stateSpool(0, 7), stateSpool(9, 7), stateSpool(19, 7), stateSpool(stateSpools, 0)} {
		st.publish(t, s)
	}
	waitPage(t, ctx, fmt.Sprintf(`window.__ssegate.received === %d && document.querySelectorAll('#board tr').length === %d`,
		len(want)+4, stateSpools+1), 20*time.Second, "the live updates")
	st.checkBoard(t, ctx)
	if h := evaluate[stateHook](t, ctx, `window.__ssegate`); h.States != 1 || !h.Complete {
		t.Errorf("page state after live updates %+v, want still complete after one marker", h)
	}
	t.Logf("screenshot: %s", screenshot(t, ctx))
}

// TestBoardRebuildsAfterReset (issue 14): the page has the board; while
// no gateway runs, every spool is updated and the history is trimmed past
// the page's position. The gateway comes back, the browser reconnects
// with its Last-Event-ID and gets `event: reset`, then the state and a
// marker: the page clears the board and rebuilds its 20 rows with the
// latest updates, without asking anything else.
func TestBoardRebuildsAfterReset(t *testing.T) {
	bin := chromium(t)
	st := startStateStack(t)
	st.publishRounds(t, 0, 2)

	ctx := openPage(t, bin, "http://"+st.addr+"/?topic=spools:updates")
	waitComplete(t, ctx, 1, stateSpools, "the board's first state")
	st.checkBoard(t, ctx)

	stopGateway(t, st.gw)
	st.publishRounds(t, 5, 7) // every spool changes while the page is away
	st.redis.Do(t, "XTRIM", "ssegate:{spools:updates}:history", "MAXLEN", "1")
	st.gw, _ = startGatewayAt(t, st.addr, st.cfg)

	got := waitComplete(t, ctx, 2, stateSpools, "the board rebuilt after the reset")
	st.checkBoard(t, ctx)
	last := st.order[len(st.order)-1].ID
	if got.Resets != 1 || got.StateKeys != stateSpools || got.Position != last {
		t.Errorf("page state %+v, want one reset, then %d keys at %s", got, stateSpools, last)
	}

	st.publish(t, stateSpool(3, 9))
	waitPage(t, ctx, fmt.Sprintf(`window.__ssegate.lastEventId === %q`, st.order[len(st.order)-1].ID),
		20*time.Second, "a live update after the rebuild")
	st.checkBoard(t, ctx)
}
