package gateway

import (
	"context"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// historyPage is how many events one history read returns.
const historyPage = 1000

// backfill repairs one topic's gap after its subscription was lost: it
// reads the topic's history from the last dispatched ID while the hub
// holds live messages back (hold.go), until the hold can be released with
// nothing missing. Its decisions are backfillState's (backfill_state.go);
// this file applies them.
//
// A topic has at most one backfill, registered in feed.backfills under
// feed.mu from its start until it ends. Ending a backfill and removing it
// from there happen under feed.mu together with the hold's release: a
// re-subscription that holds the topic after the release then finds no
// backfill and starts one, and one that held it before makes the release
// fail, so this backfill reads again.
type backfill struct {
	f      *feed
	topic  string
	cancel context.CancelFunc // ends the backfill when the feed stops (feed.stop)

	// Owned by the backfill's goroutine.
	gen   int // generation of the hold this backfill must release
	state backfillState
	retry time.Duration // wait after the next failed read
}

// refill holds topic's live messages from this instant and makes sure a
// backfill reads history until nothing is missing.
//
// The backfill's context is a fresh one on purpose: the backfill belongs
// to the topic, not to whoever noticed the gap (a setup, an ending
// backfill, the broker's resubscription); the feed cancels it (stop).
//
//nolint:contextcheck // a fresh context on purpose, see above
func (f *feed) refill(topic string) {
	gen, ok := f.hub.hold(topic)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped || f.backfills[topic] != nil {
		return // the running backfill sees the new hold generation and reads again
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &backfill{f: f, topic: topic, cancel: cancel, gen: gen, retry: backfillRetryFirst}
	f.backfills[topic] = b
	f.wg.Add(1)
	go b.run(ctx)
}

// run reads history until the hold is released, the topic has no client
// left, history cannot fill the gap, or the feed stops.
func (b *backfill) run(ctx context.Context) {
	defer b.f.wg.Done()
	defer b.cancel()
	if b.loop(ctx) {
		return // unregistered together with the release
	}
	f := b.f
	f.mu.Lock()
	delete(f.backfills, b.topic)
	f.mu.Unlock()
	if retrigger(ctx.Err() != nil, f.hub.isHolding(b.topic)) {
		f.refill(b.topic)
	}
}

// loop is run's reading loop. It reports whether the backfill ended with
// the hold released (or abandoned) and itself unregistered.
func (b *backfill) loop(ctx context.Context) bool {
	last, ok := b.f.hub.lastID(b.topic)
	if !ok {
		return false // no client left
	}
	b.state.cursor = last
	for ctx.Err() == nil {
		page, ok, err := b.read(ctx)
		switch {
		case !ok:
			return false // no client left
		case err != nil:
			b.f.log.Warn("backfill read failed; retrying", "topic", b.topic, "err", err)
			if !b.wait(ctx) {
				return false
			}
		case b.apply(page):
			return true
		}
	}
	return false
}

// read reads the next page of history, from the start of a new history
// when the old one turns out to be lost (backfillState.restart). ok is
// false when the topic has no client left.
func (b *backfill) read(ctx context.Context) (page broker.Page, ok bool, err error) {
	last, ok := b.f.hub.lastID(b.topic)
	if !ok {
		return page, false, nil
	}
	b.state = b.state.follow(last)
	page, err = b.f.broker.History(ctx, b.topic, b.state.cursor, streamid.Zero, historyPage)
	if err != nil {
		return page, true, err
	}
	var restarted bool
	if b.state, restarted = b.state.restart(page); restarted {
		page, err = b.f.broker.History(ctx, b.topic, b.state.cursor, streamid.Zero, historyPage)
	}
	return page, true, err
}

// apply does what backfillState.onPage decides for page. It reports whether
// the backfill ended with the hold released (or abandoned).
func (b *backfill) apply(page broker.Page) (ended bool) {
	f := b.f
	sent := b.state.before
	next, act, rebase := b.state.onPage(page, historyPage)
	b.state = next
	if rebase {
		f.log.Warn("history recreated behind the IDs already sent; disconnecting the topic's clients",
			"topic", b.topic, "sent", sent, "new_last", page.Last, "new_next", page.Next)
		f.hub.rebase(b.topic, page.Last, reasonError)
	}
	switch act {
	case giveUp:
		f.log.Warn("backfill impossible; disconnecting the topic's clients", "topic", b.topic, "reason", page.Reason)
		b.giveUp(page.Last)
		return true
	case skip:
		return false
	}
	for _, e := range page.Entries {
		b.state.cursor = e.ID
		if f.hub.dispatchHistory(b.topic, e) {
			f.metrics.Backfilled.Inc()
		}
	}
	return act == deliverAndRelease && b.release()
}

// release tries to end the hold of generation b.gen; when another hold
// began meanwhile (or held messages overflowed) it takes the new hold's
// generation and reports false: history must be read again.
func (b *backfill) release() bool {
	f := b.f
	f.mu.Lock()
	released := f.hub.release(b.topic, streamid.Zero, b.gen)
	if released {
		delete(f.backfills, b.topic)
	}
	f.mu.Unlock()
	if !released {
		b.gen, _ = f.hub.hold(b.topic)
	}
	return released
}

// giveUp abandons the hold at last and disconnects the topic's clients:
// more was missed than history keeps, and each client resumes (and is told
// with a reset) from its own position.
func (b *backfill) giveUp(last streamid.ID) {
	f := b.f
	f.mu.Lock()
	f.hub.abandon(b.topic, last)
	delete(f.backfills, b.topic)
	f.mu.Unlock()
	f.hub.evictTopic(b.topic, reasonError)
}

// wait sleeps before the next read after a failed one, with a doubling
// backoff; false when ctx ended first.
func (b *backfill) wait(ctx context.Context) bool {
	t := time.NewTimer(b.retry)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	b.retry = nextRetry(b.retry)
	return true
}
