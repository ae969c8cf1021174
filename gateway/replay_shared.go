package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// replayReadTimeout bounds one shared history read, waiting for its slot
// included: it runs detached from the client that started it (others wait
// on it too), so something else must end it.
const replayReadTimeout = 10 * time.Second

// sharedReads are the Redis reads of resumes that the window (window.go)
// could not serve. Concurrent resumes of one topic from one position wait
// for one read (singleflight keyed on topic and position: a storm of
// clients that were on the same replica ask for the same pages), and at
// most a fixed number of reads run at once in the process, so a storm
// queues here instead of crowding the Redis connection that live delivery
// and backfills use. A waiter whose client leaves stops waiting; the read
// goes on for the others.
type sharedReads struct {
	broker  Broker
	metrics *Metrics
	slots   chan struct{} // a token per read in flight (Config.ReplayConcurrency)
	group   singleflight.Group
}

func newSharedReads(b Broker, concurrency int, m *Metrics) *sharedReads {
	return &sharedReads{broker: b, metrics: m, slots: make(chan struct{}, concurrency)}
}

// history reads a page of topic's history after after, with no upper
// bound: waiters with different ends share it, each keeping what is its
// own (resume.go).
func (sr *sharedReads) history(ctx context.Context, topic string, after streamid.ID) (broker.Page, error) {
	v, err := sr.do(ctx, "h\x00"+topic+"\x00"+after.String(), func(rctx context.Context) (any, error) {
		return sr.broker.History(rctx, topic, after, streamid.Zero, historyPage)
	})
	if err != nil {
		return broker.Page{}, err
	}
	return v.(broker.Page), nil // shared: read it, never change it
}

// last reads topic's newest ID (a client ahead of this process).
func (sr *sharedReads) last(ctx context.Context, topic string) (streamid.ID, error) {
	v, err := sr.do(ctx, "l\x00"+topic, func(rctx context.Context) (any, error) {
		return sr.broker.Last(rctx, topic)
	})
	if err != nil {
		return streamid.ID{}, err
	}
	return v.(streamid.ID), nil
}

// do runs read once for every concurrent caller of key, within the
// concurrency bound, and returns its result, or ctx's error when the
// caller's client leaves first.
func (sr *sharedReads) do(ctx context.Context, key string, read func(context.Context) (any, error)) (any, error) {
	sr.metrics.ReplayWaiting.Inc()
	defer sr.metrics.ReplayWaiting.Dec()
	ch := sr.group.DoChan(key, func() (any, error) {
		// Detached from the client that happens to lead: its leaving must
		// not fail the others waiting on the same read.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replayReadTimeout)
		defer cancel()
		select {
		case sr.slots <- struct{}{}:
		case <-rctx.Done():
			return nil, fmt.Errorf("waiting for a history read slot: %w", errors.Join(broker.ErrUnavailable, rctx.Err()))
		}
		defer func() { <-sr.slots }()
		sr.metrics.ReplayReads.Inc()
		return read(rctx)
	})
	select {
	case res := <-ch:
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for history: %w", ctx.Err())
	}
}
