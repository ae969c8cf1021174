package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
)

// subscribeBatch bounds the channels sent in one SUBSCRIBE or UNSUBSCRIBE.
const subscribeBatch = 256

// subscriber owns the one connection a gateway process subscribes on. It
// keeps the set of wanted topics, brings the connection's subscriptions in
// line with it in batches, and on every reconnection subscribes again and
// tells the sink which topics may have missed messages.
type subscriber struct {
	client  rueidis.Client
	sharded bool
	log     *slog.Logger
	kick    chan struct{} // capacity 1: the wanted set changed

	mu     sync.Mutex
	topics map[string]*topicState
	up     bool
	sink   broker.Sink
}

type topicState struct {
	wanted    bool
	onWire    bool          // SUBSCRIBE sent on the current connection
	confirmed bool          // Redis confirmed it on the current connection
	ever      bool          // confirmed on an earlier connection: a re-confirmation is a gap
	ready     chan struct{} // closed when confirmed
}

func newSubscriber(client rueidis.Client, sharded bool, log *slog.Logger) *subscriber {
	return &subscriber{
		client:  client,
		sharded: sharded,
		log:     log,
		kick:    make(chan struct{}, 1),
		topics:  make(map[string]*topicState),
	}
}

func (s *subscriber) healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

func (s *subscriber) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *subscriber) subscribe(ctx context.Context, topics []string) error {
	s.mu.Lock()
	waits := make([]chan struct{}, 0, len(topics))
	for _, t := range topics {
		st := s.topics[t]
		if st == nil {
			st = &topicState{ready: make(chan struct{})}
			s.topics[t] = st
		}
		st.wanted = true
		if !st.confirmed {
			waits = append(waits, st.ready)
		}
	}
	s.mu.Unlock()
	if len(waits) == 0 {
		return nil
	}
	s.poke()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return fmt.Errorf("subscribe: %w", errors.Join(broker.ErrUnavailable, ctx.Err()))
		}
	}
	return nil
}

func (s *subscriber) unsubscribe(topics []string) {
	s.mu.Lock()
	for _, t := range topics {
		if st := s.topics[t]; st != nil {
			st.wanted = false
		}
	}
	s.mu.Unlock()
	s.poke()
}

// run keeps a subscription connection until ctx ends.
func (s *subscriber) run(ctx context.Context, sink broker.Sink) error {
	s.mu.Lock()
	s.sink = sink
	s.mu.Unlock()
	backoff := 50 * time.Millisecond
	for {
		err := s.session(ctx)
		s.lost()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, rueidis.ErrClosing) {
			return err
		}
		s.log.Warn("redis subscription lost; reconnecting", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(backoff*2, 2*time.Second)
		if err == nil {
			backoff = 50 * time.Millisecond
		}
	}
}

// lost marks every subscription as gone with its connection.
func (s *subscriber) lost() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up = false
	for _, st := range s.topics {
		if st.confirmed {
			st.ready = make(chan struct{})
		}
		st.onWire, st.confirmed = false, false
	}
}

// session runs one subscription connection until it fails or ctx ends.
func (s *subscriber) session(ctx context.Context) error {
	dc, release := s.client.Dedicate()
	defer release()
	wait := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage:      s.onMessage,
		OnSubscription: s.onSubscription,
	})
	if err := dc.Do(ctx, dc.B().Ping().Build()).Error(); err != nil {
		dc.Close()
		return fmt.Errorf("ping: %w", err)
	}
	s.mu.Lock()
	s.up = true
	s.mu.Unlock()
	s.log.Info("redis subscription connected")
	for {
		if err := s.sync(ctx, dc); err != nil {
			dc.Close()
			return err
		}
		select {
		case <-s.kick:
		case err := <-wait:
			return err
		case <-ctx.Done():
			dc.Close() // unsubscribes on the server: cancelling alone would not
			return nil
		}
	}
}

// sync sends the SUBSCRIBE and UNSUBSCRIBE commands that bring the
// connection in line with the wanted set.
func (s *subscriber) sync(ctx context.Context, dc rueidis.DedicatedClient) error {
	s.mu.Lock()
	var add, drop []string
	for t, st := range s.topics {
		switch {
		case st.wanted && !st.onWire:
			add = append(add, t)
			st.onWire = true
		case !st.wanted && st.onWire:
			drop = append(drop, t)
			st.onWire, st.confirmed, st.ever = false, false, false
			st.ready = make(chan struct{})
		case !st.wanted && !st.onWire:
			delete(s.topics, t)
		}
	}
	s.mu.Unlock()
	for len(add) > 0 {
		n := min(len(add), subscribeBatch)
		var cmd rueidis.Completed
		if s.sharded {
			cmd = dc.B().Ssubscribe().Channel(add[:n]...).Build()
		} else {
			cmd = dc.B().Subscribe().Channel(add[:n]...).Build()
		}
		if err := dc.Do(ctx, cmd).Error(); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		add = add[n:]
	}
	for len(drop) > 0 {
		n := min(len(drop), subscribeBatch)
		var cmd rueidis.Completed
		if s.sharded {
			cmd = dc.B().Sunsubscribe().Channel(drop[:n]...).Build()
		} else {
			cmd = dc.B().Unsubscribe().Channel(drop[:n]...).Build()
		}
		if err := dc.Do(ctx, cmd).Error(); err != nil {
			return fmt.Errorf("unsubscribe: %w", err)
		}
		drop = drop[n:]
	}
	return nil
}

// onMessage runs on the connection's reader goroutine.
func (s *subscriber) onMessage(m rueidis.PubSubMessage) {
	s.mu.Lock()
	sink := s.sink
	s.mu.Unlock()
	if sink != nil {
		sink.Message(m.Channel, []byte(m.Message))
	}
}

// onSubscription runs on the connection's reader goroutine, in order with
// the messages, which is what lets the sink hold back live messages from
// exactly the moment a re-subscription took effect.
func (s *subscriber) onSubscription(sub rueidis.PubSubSubscription) {
	switch sub.Kind {
	case "subscribe", "ssubscribe":
	case "sunsubscribe", "unsubscribe":
		// Redis drops sharded subscriptions when a slot migrates; if the
		// topic is still wanted, subscribe again (and backfill).
		s.mu.Lock()
		if st := s.topics[sub.Channel]; st != nil && st.wanted && st.confirmed {
			st.onWire, st.confirmed = false, false
			st.ready = make(chan struct{})
			s.mu.Unlock()
			s.poke()
			return
		}
		s.mu.Unlock()
		return
	default:
		return
	}
	s.mu.Lock()
	st := s.topics[sub.Channel]
	if st == nil || st.confirmed {
		s.mu.Unlock()
		return
	}
	st.confirmed = true
	gap := st.ever
	st.ever = true
	close(st.ready)
	sink := s.sink
	s.mu.Unlock()
	if gap && sink != nil {
		sink.Resubscribed(sub.Channel)
	}
}
