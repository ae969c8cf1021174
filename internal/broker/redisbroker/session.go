package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// subscribeBatch bounds the channels sent in one SUBSCRIBE or UNSUBSCRIBE,
// and the commands sent in one pipeline.
const subscribeBatch = 256

// session is one subscription connection to one node, run by one goroutine
// the supervisor owns (start).
type session struct {
	addr     string
	topo     topology      // how the deployment routes topics; fixed
	kick     chan struct{} // capacity 1: the topics routed here changed
	cancel   context.CancelFunc
	up       bool      // connected and answering (guarded by subscriber.mu)
	stopping bool      // cancelled by the supervisor (guarded by subscriber.mu)
	since    time.Time // when up or stopping last changed (guarded by subscriber.mu)
	// reconnect: this session replaces one to the same address that failed
	// (not one the supervisor stopped); until it is up, the address is down.
	reconnect bool
}

// session runs one subscription connection to se.addr until it fails or
// ctx ends. own says whether it made its client (else it dedicated from
// the broker's).
func (s *subscriber) session(ctx context.Context, se *session) (own bool, err error) {
	client, own, err := se.topo.dial(se.addr)
	if own && client != nil {
		defer client.Close()
	}
	if err != nil {
		return own, fmt.Errorf("connect to %s: %w", se.addr, err)
	}
	dc, release := client.Dedicate()
	defer release()
	wait := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage:      s.onMessage,
		OnSubscription: func(sub rueidis.PubSubSubscription) { s.onSubscription(se, sub) },
	})
	if err := dc.Do(ctx, dc.B().Ping().Build()).Error(); err != nil {
		dc.Close()
		return own, fmt.Errorf("ping: %w", err)
	}
	s.mu.Lock()
	se.up = true
	se.mark(time.Now())
	s.mu.Unlock()
	s.log.Info("redis subscription connected", "node", se.addr)
	return own, s.serve(ctx, dc, se, wait)
}

// serve keeps the connection's subscriptions in line with the topics
// routed to it, each time the supervisor kicks, until the connection fails
// (wait) or ctx ends.
func (s *subscriber) serve(ctx context.Context, dc rueidis.DedicatedClient, se *session, wait <-chan error) error {
	for {
		if err := s.sync(ctx, dc, se); err != nil {
			dc.Close()
			return err
		}
		select {
		case <-se.kick:
		case err := <-wait:
			return err
		case <-ctx.Done():
			dc.Close() // unsubscribes on the server: cancelling alone would not
			return nil
		}
	}
}

// lost marks every subscription of se as gone with its connection and
// reports whether the session had been up.
func (s *subscriber) lost(se *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasUp := se.up
	se.up = false
	se.mark(time.Now())
	for _, t := range s.topics {
		if t.node == se.addr {
			t.lose() // route again: in a cluster ownership may have moved
		}
	}
	return wasUp
}

// sync sends the SUBSCRIBE and UNSUBSCRIBE commands that bring the
// connection in line with the topics routed to it.
func (s *subscriber) sync(ctx context.Context, dc rueidis.DedicatedClient, se *session) error {
	add, drop := s.changes(se.addr)
	if err := s.send(ctx, dc, se, add, true); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := s.send(ctx, dc, se, drop, false); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if len(drop) > 0 {
		s.forget(drop)
		if !se.topo.shared() {
			poke(s.kick) // the session may have nothing left to hold
		}
	}
	return nil
}

// changes returns the topics routed to addr to subscribe (wanted, on no
// connection) and to unsubscribe (unwanted, on the connection), and
// records both as sent.
func (s *subscriber) changes(addr string) (add, drop []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, t := range s.topics {
		if t.node != addr {
			continue
		}
		switch onWire := t.state.onWire(); {
		case t.wanted && !onWire:
			add = append(add, name)
			t.sent()
		case !t.wanted && onWire:
			drop = append(drop, name)
			t.drop()
		}
	}
	return add, drop
}

// forget deletes the records of unsubscribed topics nobody wants again.
func (s *subscriber) forget(topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range topics {
		if t := s.topics[name]; t != nil && !t.wanted && !t.state.onWire() {
			delete(s.topics, name)
		}
	}
}

// send subscribes (or unsubscribes) topics in the topology's batches,
// pipelined subscribeBatch commands at a time. A batch refused with MOVED
// or ASK (the slot is no longer this node's) is routed again; an
// unsubscribe refused so is done already (Redis dropped the subscriptions
// when the slot moved).
func (s *subscriber) send(ctx context.Context, dc rueidis.DedicatedClient, se *session, topics []string, sub bool) error {
	if len(topics) == 0 {
		return nil
	}
	batches := se.topo.batches(topics)
	for len(batches) > 0 {
		n := min(len(batches), subscribeBatch)
		cmds := make(rueidis.Commands, 0, n)
		for _, b := range batches[:n] {
			cmds = append(cmds, s.command(dc, b, sub))
		}
		for i, res := range dc.DoMulti(ctx, cmds...) {
			err := res.Error()
			if err == nil {
				continue
			}
			if !redirected(err) {
				return err
			}
			if sub {
				s.reroute(batches[i])
			}
			s.log.Info("redis subscription redirected; learning slots again", "node", se.addr, "err", err)
		}
		batches = batches[n:]
	}
	return nil
}

// redirected reports whether a node refused a command for a slot it does
// not serve (any more): MOVED, ASK, TRYAGAIN or CLUSTERDOWN.
func redirected(err error) bool {
	var re *rueidis.RedisError
	if !errors.As(err, &re) {
		return false
	}
	_, moved := re.IsRedirect()
	return moved || re.IsTryAgain() || re.IsClusterDown()
}

// command builds one SUBSCRIBE, UNSUBSCRIBE, or with sharded pub/sub
// SSUBSCRIBE or SUNSUBSCRIBE, of topics.
func (s *subscriber) command(dc rueidis.DedicatedClient, topics []string, sub bool) rueidis.Completed {
	switch {
	case s.sharded && sub:
		return dc.B().Ssubscribe().Channel(topics...).Build()
	case s.sharded:
		return dc.B().Sunsubscribe().Channel(topics...).Build()
	case sub:
		return dc.B().Subscribe().Channel(topics...).Build()
	}
	return dc.B().Unsubscribe().Channel(topics...).Build()
}

// reroute takes topics whose subscription a node refused because it does
// not own their slot (any more) off that node and has the supervisor learn
// slot ownership again.
func (s *subscriber) reroute(topics []string) {
	s.mu.Lock()
	for _, name := range topics {
		if t := s.topics[name]; t != nil && t.state.awaiting() {
			t.lose()
		}
	}
	s.topo.slots().invalidate()
	s.mu.Unlock()
	poke(s.kick)
}
