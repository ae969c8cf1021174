package membroker

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
)

// record makes e its key's latest event, evicting the oldest key when a
// new one finds the state full, or removes the key for a tombstone. Called with b.mu held, after e was appended.
func (b *Broker) record(s *stream, req broker.PublishRequest, e broker.Entry, now time.Time) {
	if req.Key == "" {
		return
	}
	b.prune(s, now)
	if req.Delete {
		delete(s.state, req.Key)
		return
	}
	if s.state == nil {
		s.state = make(map[string]broker.Entry)
	}
	if _, ok := s.state[req.Key]; !ok {
		b.evict(s)
	}
	s.state[req.Key] = e
}

// evict makes room for a new key: while s's state holds the maximum number
// of keys, it drops the key whose latest event is the oldest, as the Redis
// publish script does. Called with b.mu held, after expired keys were
// pruned.
func (b *Broker) evict(s *stream) {
	for int64(len(s.state)) >= b.cfg.State.MaxKeys {
		oldest, first := "", true
		for k, e := range s.state {
			if first || e.ID.Less(s.state[oldest].ID) {
				oldest, first = k, false
			}
		}
		delete(s.state, oldest)
	}
}

// prune drops the state keys whose latest event is older than the age limit.
func (b *Broker) prune(s *stream, now time.Time) {
	if b.cfg.State.MaxAge <= 0 {
		return
	}
	maps.DeleteFunc(s.state, func(_ string, e broker.Entry) bool {
		return broker.Expired(e.ID, now, b.cfg.State.MaxAge)
	})
}

// State reads topic's keyed state and the position it is consistent with.
func (b *Broker) State(_ context.Context, topic string) (broker.State, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streams[topic]
	if s == nil {
		return broker.State{}, nil
	}
	now := b.now()
	st := broker.State{Position: s.last}
	for k, e := range s.state {
		if broker.Expired(e.ID, now, b.cfg.State.MaxAge) {
			continue
		}
		st.Entries = append(st.Entries, broker.StateEntry{Key: k, Entry: e})
	}
	slices.SortFunc(st.Entries, func(x, y broker.StateEntry) int { return x.ID.Compare(y.ID) })
	return st, nil
}
