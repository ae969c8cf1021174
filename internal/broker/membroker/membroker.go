// Package membroker is an in-process broker: history and live delivery
// without Redis. It backs the gateway's embedded mode (one process serving
// both the stream and the publish API, for development and demos) and unit
// tests of components that consume a broker. It keeps the same contract as
// the Redis broker: stream-style IDs, bounded history, trimming reported as
// lost positions, idempotency keys.
package membroker

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/streamid"
)

// Broker is safe for concurrent use.
type Broker struct {
	cfg broker.HistoryConfig
	now func() time.Time

	mu      sync.Mutex
	streams map[string]*stream
	subs    map[string]bool
	idem    map[string]idemRecord
	keyed   int // keyed publishes since the last purge of expired keys
	sink    broker.Sink
}

type stream struct {
	entries []broker.Entry
	last    streamid.ID
	maxDel  streamid.ID
	state   map[string]broker.Entry // keyed state (state.go); nil until a key is set
}

type idemRecord struct {
	result      broker.PublishResult
	fingerprint string
	expires     time.Time
}

// New returns an empty broker; a zero cfg means broker.DefaultHistory().
func New(cfg broker.HistoryConfig) *Broker {
	def := broker.DefaultHistory()
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = def.MaxLen
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = def.IdempotencyTTL
	}
	if cfg.State.MaxKeys <= 0 {
		cfg.State.MaxKeys = def.State.MaxKeys
	}
	return &Broker{
		cfg:     cfg,
		now:     time.Now,
		streams: make(map[string]*stream),
		subs:    make(map[string]bool),
		idem:    make(map[string]idemRecord),
	}
}

// Run delivers messages to sink until ctx ends.
func (b *Broker) Run(ctx context.Context, sink broker.Sink) error {
	b.mu.Lock()
	b.sink = sink
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	b.sink = nil
	b.mu.Unlock()
	return nil
}

// Subscribe takes effect at once.
func (b *Broker) Subscribe(_ context.Context, topics []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		b.subs[t] = true
	}
	return nil
}

// Unsubscribe takes effect at once.
func (b *Broker) Unsubscribe(topics []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		delete(b.subs, t)
	}
}

// Healthy reports whether Run is delivering: nothing can disconnect, but a
// message published before Run installed its sink reaches no one live.
func (b *Broker) Healthy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sink != nil
}

// HealthyFor is Healthy: every topic lives in this process.
func (b *Broker) HealthyFor([]string) bool { return b.Healthy() }

// Fault is always nil: nothing in-process can be misconfigured.
func (b *Broker) Fault() error { return nil }

// Ping always succeeds.
func (b *Broker) Ping(context.Context) error { return nil }

// Publish appends req to history and delivers it to the sink if its topic is
// subscribed, in one critical section so deliveries keep ID order.
func (b *Broker) Publish(_ context.Context, req broker.PublishRequest) (broker.PublishResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	idemKey := req.Topic + "\x00" + req.IdempotencyKey
	if req.IdempotencyKey != "" {
		if res, ok, err := b.replay(idemKey, req.Fingerprint, now); ok {
			return res, err
		}
	}
	s := b.streams[req.Topic]
	if s == nil {
		s = &stream{}
		b.streams[req.Topic] = s
	}
	id := streamid.ID{Ms: uint64(now.UnixMilli())}
	if !s.last.Less(id) {
		id = s.last.Next()
	}
	s.last = id
	e := broker.Entry{ID: id, Event: req.Event, Data: slices.Clone(req.Data), AcceptedAt: req.AcceptedAt}
	s.entries = append(s.entries, e)
	b.trim(s, now)
	b.record(s, req, e, now)
	res := broker.PublishResult{ID: id}
	if b.subs[req.Topic] && b.sink != nil {
		res.Receivers = 1
		b.sink.Message(req.Topic, envelope.Append(nil, id, req.AcceptedAt, req.Event, req.Data))
	}
	if req.IdempotencyKey != "" {
		b.remember(idemKey, idemRecord{result: res, fingerprint: req.Fingerprint, expires: now.Add(b.cfg.IdempotencyTTL)}, now)
	}
	return res, nil
}

// replay answers a publish whose idempotency key (idemKey) is still
// remembered: its first result again, or a conflict when the request
// differs (fingerprint). ok is false when the key is new or expired.
// b.mu is held.
func (b *Broker) replay(idemKey, fingerprint string, now time.Time) (res broker.PublishResult, ok bool, err error) {
	rec, found := b.idem[idemKey]
	if !found || !now.Before(rec.expires) {
		return broker.PublishResult{}, false, nil
	}
	if rec.fingerprint != fingerprint {
		return broker.PublishResult{}, true, broker.ErrIdempotencyConflict
	}
	res = rec.result
	res.Replayed = true
	return res, true, nil
}

// remember keeps rec for idemKey and, every 1024 keys, forgets the
// expired ones. b.mu is held.
func (b *Broker) remember(idemKey string, rec idemRecord, now time.Time) {
	b.idem[idemKey] = rec
	b.keyed++
	if b.keyed < 1024 {
		return
	}
	b.keyed = 0
	for k, old := range b.idem {
		if !now.Before(old.expires) {
			delete(b.idem, k)
		}
	}
}

// PublishRaw delivers data as a legacy raw message: no history, no id.
func (b *Broker) PublishRaw(topic string, data []byte) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[topic] && b.sink != nil {
		b.sink.Message(topic, slices.Clone(data))
		return 1
	}
	return 0
}

func (b *Broker) trim(s *stream, now time.Time) {
	cut := 0
	if over := len(s.entries) - int(b.cfg.MaxLen); over > 0 {
		cut = over
	}
	if b.cfg.MaxAge > 0 {
		oldest := uint64(now.Add(-b.cfg.MaxAge).UnixMilli())
		for cut < len(s.entries) && s.entries[cut].ID.Ms < oldest {
			cut++
		}
	}
	if cut == 0 {
		return
	}
	s.maxDel = s.entries[cut-1].ID
	s.entries = slices.Delete(s.entries, 0, cut)
}

// History reads up to limit events after after and not beyond until.
func (b *Broker) History(_ context.Context, topic string, after, until streamid.ID, limit int) (broker.Page, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streams[topic]
	clock := streamid.ID{Ms: uint64(b.now().UnixMilli())}
	if s == nil {
		if after.IsZero() {
			return broker.Page{Next: clock}, nil
		}
		return broker.Page{Lost: true, Reason: "unknown_stream", Next: clock}, nil
	}
	page := broker.Page{Last: s.last, Next: streamid.Later(clock, s.last.Next())}
	switch {
	case s.last.Less(after):
		page.Lost, page.Reason = true, "unknown_stream"
		return page, nil
	case after.Less(s.maxDel):
		page.Lost, page.Reason = true, "trimmed"
		return page, nil
	}
	at, held := slices.BinarySearchFunc(s.entries, after, func(e broker.Entry, id streamid.ID) int { return e.ID.Compare(id) })
	if !held && !after.IsZero() && after != s.maxDel && after.Less(s.last) {
		// Neither an entry nor the last one trimmed, and not after the
		// newest: the position comes from another history (an earlier
		// process).
		page.Lost, page.Reason = true, "unknown_stream"
		return page, nil
	}
	i := at
	if held {
		i++
	}
	for ; i < len(s.entries) && len(page.Entries) < limit; i++ {
		if !until.IsZero() && until.Less(s.entries[i].ID) {
			break
		}
		page.Entries = append(page.Entries, s.entries[i])
	}
	return page, nil
}

// Last returns the newest ID topic ever had.
func (b *Broker) Last(_ context.Context, topic string) (streamid.ID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.streams[topic]; s != nil {
		return s.last, nil
	}
	return streamid.Zero, nil
}

// Subscriptions reports the one in-process "connection": up while Run
// holds the sink, with the topics subscribed (the gateway's status page).
func (b *Broker) Subscriptions() broker.Subscriptions {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := broker.NodeState{Addr: "in-process", State: broker.NodeDown, Topics: len(b.subs)}
	if b.sink != nil {
		n.State = broker.NodeUp
	}
	return broker.Subscriptions{Mode: "memory", Nodes: []broker.NodeState{n}}
}

// Recent returns topic's newest ID and up to limit of its newest events,
// oldest first, in one step.
func (b *Broker) Recent(_ context.Context, topic string, limit int) (broker.Page, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streams[topic]
	if s == nil {
		return broker.Page{}, nil
	}
	from := max(len(s.entries)-max(limit, 0), 0)
	return broker.Page{Last: s.last, Entries: slices.Clone(s.entries[from:])}, nil
}
