package membroker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
)

// admitKey refuses a publish whose key is new to s's state while the state
// holds the maximum number of keys, after dropping expired keys, as the
// Redis publish script does. Called with b.mu held, before anything is
// written.
func (b *Broker) admitKey(s *stream, req broker.PublishRequest, now time.Time) error {
	if req.Key == "" || req.Delete {
		return nil
	}
	if _, ok := s.state[req.Key]; ok || int64(len(s.state)) < b.cfg.State.MaxKeys {
		return nil
	}
	b.prune(s, now)
	if n := len(s.state); int64(n) >= b.cfg.State.MaxKeys {
		return fmt.Errorf("topic %q holds %d state keys: %w", req.Topic, n, broker.ErrStateFull)
	}
	return nil
}

// record makes e its key's latest event, or removes the key for a
// tombstone. Called with b.mu held, after e was appended.
func (b *Broker) record(s *stream, req broker.PublishRequest, e broker.Entry, now time.Time) {
	if req.Key == "" {
		return
	}
	if req.Delete {
		delete(s.state, req.Key)
	} else {
		if s.state == nil {
			s.state = make(map[string]broker.Entry)
		}
		s.state[req.Key] = e
	}
	b.prune(s, now)
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
