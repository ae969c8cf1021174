package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// feed connects the broker to the hub. It reference-counts topics so the
// process subscribes to a topic when its first local client arrives and
// unsubscribes when the last one leaves (setup.go), and it repairs the gaps
// a lost subscription leaves by reading history before live messages
// continue (backfill.go).
//
// Every goroutine the feed starts (a setup, a backfill) is registered under
// mu with its cancel func, counted in wg, and ends when run ends: run stops
// them (stop) and waits for them. Once stopped the feed starts none.
type feed struct {
	broker  Broker
	hub     *hub
	log     *slog.Logger
	metrics *Metrics
	timeout time.Duration // bound on subscribing a new topic

	mu        sync.Mutex // lock order: docs/design.md
	topics    map[string]*feedTopic
	setups    map[*setup]struct{}  // running setups
	backfills map[string]*backfill // topic → its running backfill
	stopped   bool                 // run ended: start no goroutine
	wg        sync.WaitGroup       // setups and backfills
}

func newFeed(b Broker, h *hub, log *slog.Logger, m *Metrics, timeout time.Duration) *feed {
	return &feed{
		broker: b, hub: h, log: log, metrics: m, timeout: timeout,
		topics:    make(map[string]*feedTopic),
		setups:    make(map[*setup]struct{}),
		backfills: make(map[string]*backfill),
	}
}

// run holds the broker subscription until ctx ends, then stops the
// backfills and setups the feed started and waits for them.
func (f *feed) run(ctx context.Context) error {
	err := f.broker.Run(ctx, f)
	f.stop()
	f.wg.Wait()
	return err
}

// stop ends every running setup and backfill and makes the feed start no
// more: a new topic's setup fails at once, a refill starts no backfill.
func (f *feed) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	for su := range f.setups {
		su.cancel()
	}
	for _, b := range f.backfills {
		b.cancel()
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
