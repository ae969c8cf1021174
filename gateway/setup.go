package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssegate/ssegate/internal/broker"
)

// errFeedStopped is a new topic's setup error once the feed has stopped.
var errFeedStopped = errors.New("the gateway's subscription has stopped")

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
// goroutine of the feed, bounded by the subscribe timeout and by run.
type setup struct {
	cancel context.CancelFunc // ends the setup early: every client left, or the feed stopped
	left   int                // topics of the setup still referenced (guarded by feed.mu)
	topics []string           // the new topics
	fts    []*feedTopic       // their feed state
	gens   []int              // the generations of the hub's holds on them
}

// acquire makes sure every topic is subscribed and positioned; the caller
// must release the same topics once, also after an error (acquire releases
// what it took when it fails). When ctx ends first, acquire stops waiting
// and releases; the setup goes on for the other clients of the topics.
func (f *feed) acquire(ctx context.Context, topics []string) error {
	waits := f.take(topics)
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

// take references every topic and starts one setup for those that are new.
// It returns the topics' states, whose ready the caller waits for.
//
// The setup's context is a fresh one on purpose: the subscription belongs
// to the topics, not to the request that asked first. When that client
// leaves, the setup goes on for the others; the subscribe timeout bounds
// it, and the feed cancels it when the last client leaves or run ends.
//
//nolint:contextcheck // a fresh context on purpose, see above
func (f *feed) take(topics []string) []*feedTopic {
	var su *setup // made for the first new topic
	waits := make([]*feedTopic, 0, len(topics))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range topics {
		ft := f.topics[name]
		if ft == nil {
			if su == nil {
				su = &setup{}
			}
			ft = &feedTopic{ready: make(chan struct{}), setup: su}
			f.topics[name] = ft
			su.gens = append(su.gens, f.hub.open(name))
			su.topics = append(su.topics, name)
			su.fts = append(su.fts, ft)
		}
		ft.refs++
		waits = append(waits, ft)
	}
	if su == nil {
		return waits
	}
	su.left = len(su.topics)
	if f.stopped {
		for _, ft := range su.fts {
			ft.err, ft.setup = fmt.Errorf("subscribe: %w", errors.Join(broker.ErrUnavailable, errFeedStopped)), nil
			close(ft.ready)
		}
		return waits
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	su.cancel = cancel
	f.setups[su] = struct{}{}
	f.wg.Add(1)
	go f.start(ctx, su)
	return waits
}

// start runs a setup: it subscribes new topics and learns their newest
// IDs, while the hub holds their live messages back (holds gens) so none
// falls between the two. Then it tells the waiters, and undoes the
// subscription of the topics every client left meanwhile (release's
// Unsubscribe may have reached the broker before this Subscribe).
func (f *feed) start(ctx context.Context, su *setup) {
	defer f.wg.Done()
	defer su.cancel()
	err := f.broker.Subscribe(ctx, su.topics)
	if err == nil {
		err = f.position(ctx, su)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.setups, su)
	var orphans []string
	for i, ft := range su.fts {
		ft.err, ft.setup = err, nil
		close(ft.ready)
		if f.topics[su.topics[i]] == nil {
			orphans = append(orphans, su.topics[i])
		}
	}
	if len(orphans) > 0 {
		f.broker.Unsubscribe(orphans)
	}
}

// position learns each new topic's newest ID, with its newest events for
// the topic's window (window.go) in the same read, and ends the hub's hold
// on it, unless the topic was released (and maybe opened again) meanwhile.
func (f *feed) position(ctx context.Context, su *setup) error {
	for i, name := range su.topics {
		page, err := f.broker.Recent(ctx, name, f.hub.win.events)
		if err != nil {
			return err
		}
		f.mu.Lock()
		released := f.topics[name] != su.fts[i] || f.hub.seedAndRelease(name, page, su.gens[i])
		f.mu.Unlock()
		if !released {
			// The subscription was re-established meanwhile (its backfill
			// owns the hold) or held messages overflowed: read history.
			f.refill(name)
		}
	}
	return nil
}

// release drops one reference to each topic. The last reference of a topic
// ends its setup if it still runs, forgets it in the hub and unsubscribes.
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
