package gateway

import (
	"context"
	"sync"
	"time"
)

// rateWindow is how far back a topic's rate looks; rateSample is how often
// the counters are sampled.
const (
	rateWindow = 10 * time.Second
	rateSample = time.Second
)

// rates turns the topics' event counters into recent rates: a sampler
// reads the counters every rateSample and keeps the samples of the last
// rateWindow; a topic's rate is its counter's growth since the oldest
// sample. Counting stays the one increment dispatch does; the arithmetic is
// done here, once a second, off the event path.
type rates struct {
	mu      sync.Mutex // leaf: never held while taking another lock (docs/design.md)
	samples []rateSampleAt
}

// rateSampleAt is the topics' counters at one moment.
type rateSampleAt struct {
	at     time.Time
	totals map[string]uint64
}

// add records a sample and forgets those older than the window (keeping
// one at least a window old, the base of the rates).
func (r *rates) add(topics []topicStats, now time.Time) {
	totals := make(map[string]uint64, len(topics))
	for _, t := range topics {
		totals[t.name] = t.events
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, rateSampleAt{at: now, totals: totals})
	for len(r.samples) > 1 && now.Sub(r.samples[1].at) >= rateWindow {
		r.samples = r.samples[1:]
	}
}

// rates returns each topic's events per second since the oldest sample, in
// the order of topics; 0 without an earlier sample. A topic the oldest
// sample lacks (subscribed since) counts from 0; a counter that went back
// (the topic was dropped and subscribed again) counts from 0 too.
func (r *rates) rates(topics []topicStats, now time.Time) []float64 {
	out := make([]float64, len(topics))
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) == 0 {
		return out
	}
	base := r.samples[0]
	secs := now.Sub(base.at).Seconds()
	if secs <= 0 {
		return out
	}
	for i, t := range topics {
		old := base.totals[t.name]
		if old > t.events {
			old = 0
		}
		out[i] = float64(t.events-old) / secs
	}
	return out
}

// sample reads the hub's counters every rateSample until ctx ends.
func (r *rates) sample(ctx context.Context, h *hub) {
	t := time.NewTicker(rateSample)
	defer t.Stop()
	_, topics := h.stats()
	r.add(topics, time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_, topics := h.stats()
			r.add(topics, now)
		}
	}
}
