package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
)

// Slot ownership refreshes.
const (
	// minRefresh spaces CLUSTER SLOTS requests, so a burst of MOVED replies
	// or slot migrations while the cluster converges is no busy loop.
	minRefresh = 100 * time.Millisecond
	// refreshTimeout bounds one round of asking the nodes for CLUSTER SLOTS.
	refreshTimeout = 3 * time.Second
)

// sessionEnd is what a session goroutine reports to the supervisor.
type sessionEnd struct {
	se    *session
	err   error
	wasUp bool
	// own says the session made its client; if not, it dedicated from the
	// broker's, and rueidis.ErrClosing means the broker is closing.
	own bool
}

// supervisor is the state of one run: the session goroutines it owns and
// their pacing. It is used by run's goroutine only.
type supervisor struct {
	s       *subscriber
	ended   chan sessionEnd
	stopped chan struct{} // closed when run returns: sessions stop reporting
	wg      sync.WaitGroup
	next    map[string]*retryState
	refresh retryState
}

// run keeps the subscription connections until ctx ends or the broker
// closes. Every session goroutine it starts has ended when it returns.
func (s *subscriber) run(ctx context.Context, sink broker.Sink) error {
	s.mu.Lock()
	s.sink = sink
	s.mu.Unlock()
	s.live.Store(&sink)
	ctx, cancel := context.WithCancel(ctx)
	sv := &supervisor{s: s, ended: make(chan sessionEnd), stopped: make(chan struct{}), next: make(map[string]*retryState)}
	defer func() {
		cancel() // every session's context derives from ctx
		close(sv.stopped)
		sv.wg.Wait()
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wake := sv.route(ctx, time.Now())
		timer.Stop()
		var retry <-chan time.Time
		if !wake.IsZero() {
			timer.Reset(max(time.Until(wake), time.Millisecond))
			retry = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.closed:
			return fmt.Errorf("redis subscription: %w", rueidis.ErrClosing)
		case <-s.kick:
		case <-retry:
		case e := <-sv.ended:
			if err := sv.sessionEnded(e); err != nil {
				return err
			}
		}
	}
}

// sessionEnded takes note of a session that ended and paces its
// reconnection. An error ends run: the broker closed under the session.
func (sv *supervisor) sessionEnded(e sessionEnd) error {
	s := sv.s
	s.mu.Lock()
	if s.sessions[e.se.addr] == e.se {
		delete(s.sessions, e.se.addr)
		if !e.se.stopping {
			s.downSince[e.se.addr] = time.Now() // a failure, not a stop
		}
	}
	s.topo.ended(e.se.addr)
	stopping := e.se.stopping
	s.mu.Unlock()
	if stopping {
		delete(sv.next, e.se.addr)
		return nil
	}
	if !e.own && errors.Is(e.err, rueidis.ErrClosing) {
		return fmt.Errorf("redis subscription: %w", e.err)
	}
	r := sv.next[e.se.addr]
	if r == nil || e.wasUp {
		r = &retryState{}
		sv.next[e.se.addr] = r
	}
	r.fail(time.Now())
	// One line per change of state: up → down here, down → up in session;
	// failed attempts in between are debug lines.
	if e.wasUp {
		s.log.Warn("redis subscription lost; reconnecting", "node", e.se.addr, "err", e.err)
	} else {
		s.log.Debug("redis subscription still down; retrying", "node", e.se.addr, "err", e.err, "retry_in", r.backoff.String())
	}
	return nil
}

// route learns slot ownership when it is stale, routes every wanted topic
// that is not on a connection to the session of its node, and starts and
// stops sessions to match. It returns when it wants to be called again (a
// reconnection or refresh waiting out its backoff), or the zero time.
func (sv *supervisor) route(ctx context.Context, now time.Time) time.Time {
	s := sv.s
	s.mu.Lock()
	var slots *slotState
	if s.topo != nil {
		slots = s.topo.slots()
	}
	stale := slots.unknown()
	s.mu.Unlock()
	if stale && !now.Before(sv.refresh.at) {
		sv.learnSlots(ctx, now, slots)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topo == nil {
		return time.Time{} // not connected since start: attach kicks
	}
	s.need = sv.plan(now)
	wake := sv.reconcile(ctx, now)
	if s.topo.slots().unknown() {
		wake = earliest(wake, sv.refresh.at)
	}
	return wake
}

// earliest returns the earlier of wake and t, where a zero wake is none
// yet.
func earliest(wake, t time.Time) time.Time {
	if wake.IsZero() || t.Before(wake) {
		return t
	}
	return wake
}

// held reports whether reconnecting to addr waits out a backoff at now.
func (sv *supervisor) held(addr string, now time.Time) bool {
	r := sv.next[addr]
	return r != nil && now.Before(r.at)
}

// plan routes every wanted topic that is on no connection, forgets the
// topics nobody wants that are on none, and returns the addresses that
// need a session. Called with s.mu held.
func (sv *supervisor) plan(now time.Time) map[string]bool {
	s := sv.s
	need := make(map[string]bool, len(s.sessions)+1)
	if addr, ok := s.topo.fixed(func(addr string) bool { return sv.held(addr, now) }); ok {
		need[addr] = true
	}
	for name, t := range s.topics {
		if !t.state.onWire() {
			if !t.wanted {
				delete(s.topics, name)
				continue
			}
			var ok bool
			if t.node, ok = s.topo.home(name); !ok {
				continue // ownership unknown: routed once it is learned
			}
		}
		need[t.node] = true // on a connection: its session sends the UNSUBSCRIBE
	}
	return need
}

// reconcile starts the sessions s.need lacks (unless waiting out a backoff)
// and stops those it no longer has; a running session is kicked to look
// at its topics again. It returns when a backoff ends, or the zero time.
// Called with s.mu held.
func (sv *supervisor) reconcile(ctx context.Context, now time.Time) (wake time.Time) {
	s := sv.s
	for addr := range s.need {
		if se := s.sessions[addr]; se != nil {
			if !se.stopping {
				poke(se.kick)
			}
			continue // a stopping session is started again once it ended
		}
		if sv.held(addr, now) {
			wake = earliest(wake, sv.next[addr].at)
			continue
		}
		sv.start(ctx, addr)
	}
	for addr, se := range s.sessions {
		if !s.need[addr] && !se.stopping {
			se.stopping = true
			se.mark(now)
			se.cancel()
		}
	}
	return wake
}

// learnSlots asks the cluster which primary owns which slot.
func (sv *supervisor) learnSlots(ctx context.Context, now time.Time, slots *slotState) {
	s := sv.s
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	table, err := clusterSlots(ctx, slots.client)
	cancel()
	if err != nil {
		first := sv.refresh.backoff == 0
		sv.refresh.fail(now)
		if first {
			s.log.Warn("redis cluster slots unknown; asking again", "err", err)
		} else {
			s.log.Debug("redis cluster slots still unknown", "err", err, "retry_in", sv.refresh.backoff.String())
		}
		return
	}
	sv.refresh = retryState{at: now.Add(minRefresh)}
	s.mu.Lock()
	slots.table, slots.stale = table, false
	s.mu.Unlock()
}

// start runs a session to addr in a goroutine that ends when the session
// does and reports to run, or gives up reporting once run returned.
// Called with s.mu held.
func (sv *supervisor) start(ctx context.Context, addr string) {
	s := sv.s
	ctx, cancel := context.WithCancel(ctx)
	_, failed := s.downSince[addr]
	se := &session{addr: addr, topo: s.topo, kick: make(chan struct{}, 1), cancel: cancel, since: time.Now(), reconnect: failed}
	delete(s.downSince, addr)
	s.sessions[addr] = se
	sv.wg.Add(1)
	go func() {
		defer sv.wg.Done()
		own, err := s.session(ctx, se)
		wasUp := s.lost(se)
		cancel()
		select {
		case sv.ended <- sessionEnd{se: se, err: err, wasUp: wasUp, own: own}:
		case <-sv.stopped:
		}
	}()
}
