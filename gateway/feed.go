package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// historyPage is how many events one history read returns.
const historyPage = 1000

// feed connects the broker to the hub. It reference-counts topics so the
// process subscribes to a topic when its first local client arrives and
// unsubscribes when the last one leaves, and it repairs the gaps a lost
// subscription leaves by reading history before live messages continue.
type feed struct {
	broker  Broker
	hub     *hub
	log     *slog.Logger
	metrics *Metrics
	timeout time.Duration // bound on subscribing a new topic

	mu     sync.Mutex
	topics map[string]*feedTopic
	ctx    context.Context // lives as long as Run; backfills stop with it
	wg     sync.WaitGroup
	filled map[string]bool // topics with a backfill running
}

// feedTopic is the feed's state for one topic. Its setup (subscribing and
// positioning it) belongs to the topic, not to the request that found it
// new: a client that leaves while the setup runs only stops waiting, and
// the clients that joined meanwhile still get the subscription.
type feedTopic struct {
	refs  int
	ready chan struct{} // closed when the setup ended; err says how
	err   error
	setup *setup // the running setup; nil once ready is closed
}

// setup subscribes and positions the topics one acquire found new, on a
// goroutine of the feed, bounded by the subscribe timeout and by Run.
type setup struct {
	cancel context.CancelFunc // ends the setup early: every client left
	left   int                // topics of the setup still referenced (guarded by feed.mu)
}

func newFeed(b Broker, h *hub, log *slog.Logger, m *Metrics, timeout time.Duration) *feed {
	return &feed{
		broker: b, hub: h, log: log, metrics: m, timeout: timeout,
		topics: make(map[string]*feedTopic),
		filled: make(map[string]bool),
		ctx:    context.Background(),
	}
}

// run holds the broker subscription until ctx ends and waits for the
// backfills and setups it started.
func (f *feed) run(ctx context.Context) error {
	f.mu.Lock()
	f.ctx = ctx
	f.mu.Unlock()
	err := f.broker.Run(ctx, f)
	f.wg.Wait()
	return err
}

// acquire makes sure every topic is subscribed and positioned; the caller
// must release the same topics once, also after an error (acquire releases
// what it took when it fails). When ctx ends first, acquire stops waiting
// and releases; the setup goes on for the other clients of the topics.
func (f *feed) acquire(ctx context.Context, topics []string) error {
	var fresh []string
	var fts []*feedTopic
	var gens []int
	waits := make([]*feedTopic, 0, len(topics))
	f.mu.Lock()
	for _, name := range topics {
		ft := f.topics[name]
		if ft == nil {
			ft = &feedTopic{ready: make(chan struct{})}
			f.topics[name] = ft
			gens = append(gens, f.hub.open(name))
			fresh = append(fresh, name)
			fts = append(fts, ft)
		}
		ft.refs++
		waits = append(waits, ft)
	}
	if len(fresh) > 0 {
		sctx, cancel := context.WithTimeout(f.ctx, f.timeout)
		su := &setup{cancel: cancel, left: len(fresh)}
		for _, ft := range fts {
			ft.setup = su
		}
		f.wg.Add(1)
		go f.start(sctx, su, fresh, fts, gens)
	}
	f.mu.Unlock()
	for _, ft := range waits {
		select {
		case <-ft.ready:
			if ft.err != nil {
				f.release(topics)
				return ft.err
			}
		case <-ctx.Done():
			f.release(topics)
			return fmt.Errorf("waiting for subscription: %w", errors.Join(broker.ErrUnavailable, ctx.Err()))
		}
	}
	return nil
}

// start runs a setup: it subscribes new topics and learns their newest
// IDs, while the hub holds their live messages back (holds gens) so none
// falls between the two. Then it tells the waiters, and undoes the
// subscription of the topics every client left meanwhile (release's
// Unsubscribe may have reached the broker before this Subscribe).
func (f *feed) start(ctx context.Context, su *setup, topics []string, fts []*feedTopic, gens []int) {
	defer f.wg.Done()
	defer su.cancel()
	err := f.broker.Subscribe(ctx, topics)
	if err == nil {
		err = f.position(ctx, topics, fts, gens)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var orphans []string
	for i, ft := range fts {
		ft.err, ft.setup = err, nil
		close(ft.ready)
		if f.topics[topics[i]] == nil {
			orphans = append(orphans, topics[i])
		}
	}
	if len(orphans) > 0 {
		f.broker.Unsubscribe(orphans)
	}
}

// position learns each new topic's newest ID and ends the hub's hold on it,
// unless the topic was released (and maybe opened again) meanwhile.
func (f *feed) position(ctx context.Context, topics []string, fts []*feedTopic, gens []int) error {
	for i, name := range topics {
		last, err := f.broker.Last(ctx, name)
		if err != nil {
			return err
		}
		f.mu.Lock()
		released := f.topics[name] != fts[i] || f.hub.release(name, last, gens[i])
		f.mu.Unlock()
		if !released {
			// The subscription was re-established meanwhile (its backfill
			// owns the hold) or held messages overflowed: read history.
			f.refill(name)
		}
	}
	return nil
}

// release drops one reference to each topic.
func (f *feed) release(topics []string) {
	var gone []string
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range topics {
		ft := f.topics[name]
		if ft == nil {
			continue
		}
		ft.refs--
		if ft.refs == 0 {
			if su := ft.setup; su != nil {
				if su.left--; su.left == 0 {
					su.cancel() // nobody waits for this setup any more
				}
			}
			delete(f.topics, name)
			f.hub.remove(name)
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		// Under the lock, so a new acquire of the same topic subscribes after this.
		f.broker.Unsubscribe(gone)
	}
}

// Message implements broker.Sink.
func (f *feed) Message(topic string, payload []byte) { f.hub.message(topic, payload) }

// Resubscribed implements broker.Sink: hold the topic's live messages from
// this instant and read what was missed from history.
func (f *feed) Resubscribed(topic string) {
	f.metrics.Resubscriptions.Inc()
	f.refill(topic)
}

// refill holds topic's live messages from this instant and makes sure a
// backfill reads history until nothing is missing.
func (f *feed) refill(topic string) {
	gen, ok := f.hub.hold(topic)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.filled[topic] {
		return // the running backfill sees the new hold generation and reads again
	}
	f.filled[topic] = true
	f.wg.Add(1)
	go f.backfill(f.ctx, topic, gen)
}

// backfill reads topic's history from its last dispatched ID until the
// hold can be released with nothing missing.
//
// Ending a backfill and clearing its filled flag happen under f.mu together
// with the hold's release: a re-subscription that holds the topic after
// the release then finds no backfill running and starts one, and one that
// held it before makes the release fail, so this backfill reads again.
func (f *feed) backfill(ctx context.Context, topic string, gen int) {
	defer f.wg.Done()
	done := false // the flag was cleared together with the release
	defer func() {
		if done {
			return
		}
		f.mu.Lock()
		delete(f.filled, topic)
		f.mu.Unlock()
		// The topic may have been closed and opened again meanwhile; a
		// refill that saw this backfill's flag skipped starting its own.
		if ctx.Err() == nil && f.hub.isHolding(topic) {
			f.refill(topic)
		}
	}()
	retry := 50 * time.Millisecond
	wait := func() bool {
		select {
		case <-time.After(retry):
		case <-ctx.Done():
			return false
		}
		retry = min(retry*2, 2*time.Second)
		return true
	}
	// cursor is where the next read starts. It follows the hub's last
	// dispatched id, except after the history was lost and recreated: then
	// it walks the new history from its start, whose ids may all be older
	// than what was dispatched before the loss.
	cursor, ok := f.hub.lastID(topic)
	if !ok {
		return // no client left
	}
	// After the history was lost, the first successful read of the new one
	// (restarted, from its start) decides whether its IDs can follow the
	// ones already dispatched (before) on the open streams.
	restarted, judge := false, false
	var before streamid.ID
	for ctx.Err() == nil {
		if last, ok := f.hub.lastID(topic); !ok {
			return
		} else if !restarted && cursor.Less(last) {
			cursor = last
		}
		page, err := f.broker.History(ctx, topic, cursor, streamid.Zero, historyPage)
		if err == nil && page.Lost && page.Reason == "unknown_stream" && !restarted {
			// The topic's history is gone (Redis restarted without
			// persistence, FLUSHALL, the key deleted, a failover that lost
			// its tail) and may have been recreated since: everything it
			// holds now was published after the loss, while the live feed
			// was down. Deliver it from the start rather than
			// disconnecting the topic's clients, if its IDs allow.
			restarted, judge, before, cursor = true, true, cursor, streamid.Zero
			page, err = f.broker.History(ctx, topic, cursor, streamid.Zero, historyPage)
		}
		if err != nil {
			f.log.Warn("backfill read failed; retrying", "topic", topic, "err", err)
			if !wait() {
				return
			}
			continue
		}
		if judge {
			judge = false
			if diverged(page, before) {
				// The new history's IDs are not all after the old ones (a
				// Redis clock behind the lost one's, or a lost tail): its
				// events cannot follow the old ones on a stream, and must
				// not be dropped as duplicates. The clients resume (and are
				// told with a reset); the topic goes on from the new
				// history's end, whatever comes after it is backfilled.
				f.log.Warn("history recreated behind the IDs already sent; disconnecting the topic's clients",
					"topic", topic, "sent", before, "new_last", page.Last, "new_next", page.Next)
				f.hub.rebase(topic, page.Last, reasonError)
				if !page.Lost {
					restarted, cursor = false, page.Last
					continue
				}
			}
		}
		if page.Lost {
			// Missed more than history keeps: clients resume (and are told
			// with a reset) from their own positions.
			f.log.Warn("backfill impossible; disconnecting the topic's clients", "topic", topic, "reason", page.Reason)
			f.mu.Lock()
			if !f.hub.release(topic, page.Last, 0) {
				f.hub.release(topic, page.Last, 0) // the first one only cleared an overflow
			}
			delete(f.filled, topic)
			done = true
			f.mu.Unlock()
			f.hub.evictTopic(topic, reasonError)
			return
		}
		for _, e := range page.Entries {
			cursor = e.ID
			if f.hub.dispatchHistory(topic, e) {
				f.metrics.Backfilled.Inc()
			}
		}
		if len(page.Entries) == historyPage {
			continue
		}
		f.mu.Lock()
		released := f.hub.release(topic, streamid.Zero, gen)
		if released {
			delete(f.filled, topic)
			done = true
		}
		f.mu.Unlock()
		if released {
			return
		}
		gen, _ = f.hub.hold(topic)
	}
}

// diverged reports whether page, the start of a history that replaced a
// lost one, cannot continue streams positioned at before (the last ID
// dispatched from the lost history): it holds, or will give new events, IDs
// that are not after before.
func diverged(page broker.Page, before streamid.ID) bool {
	switch {
	case page.Lost: // trimmed already: the clients are disconnected anyway
		return !before.Less(page.Last)
	case len(page.Entries) > 0:
		return !before.Less(page.Entries[0].ID)
	default: // nothing yet: what will the next event's ID be?
		return !page.Next.IsZero() && !before.Less(page.Next)
	}
}
