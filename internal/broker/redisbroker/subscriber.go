package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
)

// subscriber owns the subscription connections of a gateway process.
//
// It keeps the set of wanted topics (topic.go) and, through the topology
// of the deployment (topology.go), routes each to a session: a connection
// to one node (session.go). A supervisor (run, supervisor.go) starts and
// stops sessions and, on a cluster, learns slot ownership from CLUSTER
// SLOTS; each session brings its connection's subscriptions in line with
// the topics routed to it, in batches, and tells the sink which topics may
// have missed messages when Redis confirms one again after a loss: a
// reconnection, a failover, or a slot that moved to another shard.
type subscriber struct {
	sharded bool // SSUBSCRIBE/SUNSUBSCRIBE instead of SUBSCRIBE/UNSUBSCRIBE
	log     *slog.Logger
	kick    chan struct{} // capacity 1: routing must be looked at again
	closed  chan struct{} // closed by close: the broker is closing
	once    sync.Once

	mu       sync.Mutex
	topo     topology // nil until attach, fixed after
	topics   map[string]*topic
	sessions map[string]*session // running sessions by node address
	need     map[string]bool     // addresses routing wants a session for
	// downSince is when the last session to an address ended (status page).
	downSince map[string]time.Time
	sink      broker.Sink
	// live is the sink for the reader goroutines: read on every message
	// without taking mu, which routing and sync hold while they walk topics.
	live atomic.Pointer[broker.Sink]
}

// newSubscriber makes a subscriber without a client: it subscribes nothing
// and is not healthy until attach gives it one.
func newSubscriber(sharded bool, log *slog.Logger) *subscriber {
	return &subscriber{
		sharded:   sharded,
		log:       log,
		kick:      make(chan struct{}, 1),
		closed:    make(chan struct{}),
		topics:    make(map[string]*topic),
		sessions:  make(map[string]*session),
		need:      make(map[string]bool),
		downSince: make(map[string]time.Time),
	}
}

// attach gives the subscriber its client, once Redis answered, and has the
// supervisor route the wanted topics. nodeOpt is the template of per-node
// session clients on a cluster.
func (s *subscriber) attach(client rueidis.Client, nodeOpt rueidis.ClientOption) {
	topo := newTopology(client, nodeOpt, s.sharded)
	s.mu.Lock()
	s.topo = topo
	s.mu.Unlock()
	poke(s.kick)
}

// close makes a running run return; sessions close their connections.
func (s *subscriber) close() { s.once.Do(func() { close(s.closed) }) }

// healthy reports whether every connection routing needs is up (and, on a
// cluster, slot ownership is known).
func (s *subscriber) healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topo != nil && s.topo.healthy(sessionView{need: s.need, sessions: s.sessions, downSince: s.downSince})
}

// healthyFor reports whether topics can be subscribed now. With sharded
// pub/sub on a cluster only the shards owning them matter (see
// shardedTopology.healthyFor); otherwise it is healthy.
func (s *subscriber) healthyFor(topics []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topo != nil && s.topo.healthyFor(topics, sessionView{need: s.need, sessions: s.sessions, downSince: s.downSince})
}

// poke sends on a kick channel of capacity 1 without blocking: a kick
// already pending covers this one.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// subscribe marks topics wanted and waits until Redis confirmed each.
func (s *subscriber) subscribe(ctx context.Context, topics []string) error {
	s.mu.Lock()
	waits := make([]chan struct{}, 0, len(topics))
	for _, name := range topics {
		t := s.topics[name]
		if t == nil {
			t = newTopic()
			s.topics[name] = t
		}
		t.wanted = true
		if t.state != subscribed {
			waits = append(waits, t.ready)
		}
	}
	s.mu.Unlock()
	if len(waits) == 0 {
		return nil
	}
	poke(s.kick)
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return fmt.Errorf("subscribe: %w", errors.Join(broker.ErrUnavailable, ctx.Err()))
		}
	}
	return nil
}

// unsubscribe marks topics unwanted; their sessions unsubscribe them.
func (s *subscriber) unsubscribe(topics []string) {
	s.mu.Lock()
	for _, name := range topics {
		t := s.topics[name]
		switch {
		case t == nil:
		case !t.state.onWire():
			delete(s.topics, name) // nothing to undo on any connection
		default:
			t.wanted = false
		}
	}
	s.mu.Unlock()
	poke(s.kick)
}
