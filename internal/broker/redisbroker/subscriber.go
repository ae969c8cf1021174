package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
)

// subscribeBatch bounds the channels sent in one SUBSCRIBE or UNSUBSCRIBE,
// and the commands sent in one pipeline.
const subscribeBatch = 256

// Reconnection pacing.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
	// minRefresh spaces CLUSTER SLOTS requests, so a burst of MOVED replies
	// or slot migrations while the cluster converges is no busy loop.
	minRefresh = 100 * time.Millisecond
	// refreshTimeout bounds one round of asking the nodes for CLUSTER SLOTS.
	refreshTimeout = 3 * time.Second
)

// singleAddr is the session address of a deployment that is not a cluster
// (one server, or a Sentinel-managed primary): its one connection is
// dedicated from the subscription client, which finds the server itself.
const singleAddr = ""

// subscriber owns the subscription connections of a gateway process: one
// for a single server or Sentinel deployment and for classic pub/sub on a
// cluster (Redis broadcasts every PUBLISH to every node), or one per
// primary that owns a wanted topic's slot with sharded pub/sub on a cluster
// (SPUBLISH reaches only the shard that owns the channel's slot).
//
// It keeps the set of wanted topics and routes each to a session (a
// connection to one node). A supervisor (run) starts and stops sessions and
// learns slot ownership from CLUSTER SLOTS; each session brings its
// connection's subscriptions in line with the topics routed to it, in
// batches, and tells the sink which topics may have missed messages when
// Redis confirms one again after a loss: a reconnection, a failover, or a
// slot that moved to another shard.
type subscriber struct {
	client  rueidis.Client       // single/Sentinel: sessions dedicate from it; cluster: asked for CLUSTER SLOTS; nil until attach (guarded by mu, fixed after)
	cluster bool                 // the client found a Redis Cluster
	nodeOpt rueidis.ClientOption // cluster: template of the per-node session clients
	sharded bool
	log     *slog.Logger
	kick    chan struct{} // capacity 1: routing must be looked at again
	closed  chan struct{} // closed by close: the broker is closing
	once    sync.Once

	mu       sync.Mutex
	topics   map[string]*topicState
	sessions map[string]*session // running sessions by node address
	need     map[string]bool     // addresses routing wants a session for
	slots    slotTable           // cluster: primary per slot as last learned; nil = unknown
	stale    bool                // cluster: ask for slot ownership again
	classic  string              // cluster with classic pub/sub: the node holding every subscription
	sink     broker.Sink
	// live is the sink for the reader goroutines: read on every message
	// without taking mu, which route and sync hold while they walk topics.
	live atomic.Pointer[broker.Sink]
}

type topicState struct {
	wanted    bool
	onWire    bool          // SUBSCRIBE sent on the session of node
	confirmed bool          // Redis confirmed it on that session
	ever      bool          // confirmed on an earlier session: a re-confirmation is a gap
	ready     chan struct{} // closed when confirmed
	// node is the session address the topic is routed to; in a cluster ""
	// means not routed yet (ownership unknown or being learned again).
	node string
}

// session is one subscription connection to one node.
type session struct {
	addr     string
	kick     chan struct{} // capacity 1: the topics routed here changed
	cancel   context.CancelFunc
	up       bool // connected and answering (guarded by subscriber.mu)
	stopping bool // cancelled by the supervisor (guarded by subscriber.mu)
}

// newSubscriber makes a subscriber without a client: it subscribes nothing
// and is not healthy until attach gives it one.
func newSubscriber(sharded bool, log *slog.Logger) *subscriber {
	return &subscriber{
		sharded:  sharded,
		log:      log,
		kick:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
		topics:   make(map[string]*topicState),
		sessions: make(map[string]*session),
		need:     make(map[string]bool),
	}
}

// attach gives the subscriber its client, once Redis answered, and has the
// supervisor route the wanted topics.
func (s *subscriber) attach(client rueidis.Client, nodeOpt rueidis.ClientOption) {
	nodeOpt.Sentinel = rueidis.SentinelOption{}
	nodeOpt.ForceSingleClient = true
	s.mu.Lock()
	s.client, s.nodeOpt = client, nodeOpt
	s.cluster = client.Mode() == rueidis.ClientModeCluster
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
	return s.healthyLocked()
}

// healthyFor reports whether topics can be subscribed now. With sharded
// pub/sub only the shards owning them matter: a failover of one shard does
// not refuse subscribers of the others. A shard this process needs no
// connection to yet counts as up; subscribing finds out. With no topics it
// says whether any could be served (readiness): slot ownership is known and
// some needed connection is up, or none is needed.
func (s *subscriber) healthyFor(topics []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cluster || !s.sharded {
		return s.healthyLocked()
	}
	if s.slots == nil {
		return false
	}
	if len(topics) == 0 {
		for addr := range s.need {
			if se := s.sessions[addr]; se != nil && se.up && !se.stopping {
				return true
			}
		}
		return len(s.need) == 0
	}
	for _, t := range topics {
		addr := s.slots.owner(topicSlot(t))
		if addr == "" {
			return false
		}
		if se := s.sessions[addr]; s.need[addr] && (se == nil || !se.up || se.stopping) {
			return false
		}
	}
	return true
}

func (s *subscriber) healthyLocked() bool {
	if s.cluster && s.slots == nil || len(s.need) == 0 && !(s.cluster && s.sharded) {
		return false
	}
	for addr := range s.need {
		if se := s.sessions[addr]; se == nil || !se.up || se.stopping {
			return false
		}
	}
	return true
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
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

func (s *subscriber) unsubscribe(topics []string) {
	s.mu.Lock()
	for _, t := range topics {
		st := s.topics[t]
		switch {
		case st == nil:
		case !st.onWire:
			delete(s.topics, t) // nothing to undo on any connection
		default:
			st.wanted = false
		}
	}
	s.mu.Unlock()
	poke(s.kick)
}

// sessionEnd is what a session goroutine reports to the supervisor.
type sessionEnd struct {
	se    *session
	err   error
	wasUp bool
}

// retryState paces reconnections to one address (or CLUSTER SLOTS
// requests): after a failure, wait backoff, doubling up to maxBackoff.
type retryState struct {
	at      time.Time
	backoff time.Duration
}

func (r *retryState) fail(now time.Time) {
	r.backoff = min(max(2*r.backoff, minBackoff), maxBackoff)
	r.at = now.Add(r.backoff)
}

// supervisor is the state of one run: the session goroutines it owns and
// their pacing.
type supervisor struct {
	s       *subscriber
	ctx     context.Context
	ended   chan sessionEnd
	stopped chan struct{} // closed when run returns: sessions stop reporting
	wg      sync.WaitGroup
	next    map[string]*retryState
	refresh retryState
}

// run keeps the subscription connections until ctx ends or the broker
// closes.
func (s *subscriber) run(ctx context.Context, sink broker.Sink) error {
	s.mu.Lock()
	s.sink = sink
	s.mu.Unlock()
	s.live.Store(&sink)
	ctx, cancel := context.WithCancel(ctx)
	sv := &supervisor{s: s, ctx: ctx, ended: make(chan sessionEnd), stopped: make(chan struct{}), next: make(map[string]*retryState)}
	defer func() {
		cancel() // every session's context derives from ctx
		close(sv.stopped)
		sv.wg.Wait()
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wake := sv.route(time.Now())
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
			if err := sv.ended1(e); err != nil {
				return err
			}
		}
	}
}

// ended1 takes note of a session that ended.
func (sv *supervisor) ended1(e sessionEnd) error {
	s := sv.s
	s.mu.Lock()
	if s.sessions[e.se.addr] == e.se {
		delete(s.sessions, e.se.addr)
	}
	if s.cluster {
		s.stale = true // the node may be gone or no longer a primary
		if s.classic == e.se.addr {
			s.classic = ""
		}
	}
	stopping := e.se.stopping
	s.mu.Unlock()
	if stopping {
		delete(sv.next, e.se.addr)
		return nil
	}
	if errors.Is(e.err, rueidis.ErrClosing) && !s.cluster {
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
func (sv *supervisor) route(now time.Time) (wake time.Time) {
	s := sv.s
	s.mu.Lock()
	stale := s.client != nil && s.cluster && (s.stale || s.slots == nil)
	s.mu.Unlock()
	if stale && !now.Before(sv.refresh.at) {
		sv.learnSlots(now)
	}
	earliest := func(t time.Time) {
		if wake.IsZero() || t.Before(wake) {
			wake = t
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return wake // not connected since start: attach kicks
	}
	need := make(map[string]bool, len(s.sessions)+1)
	switch {
	case !s.cluster:
		need[singleAddr] = true
	case !s.sharded:
		if s.classic == "" && s.slots != nil {
			s.classic = sv.pickClassic(now)
		}
		if s.classic != "" {
			need[s.classic] = true
		}
	}
	for name, st := range s.topics {
		switch {
		case !st.wanted && !st.onWire:
			delete(s.topics, name)
			continue
		case st.wanted && !st.onWire:
			switch {
			case !s.cluster:
				st.node = singleAddr
			case !s.sharded:
				st.node = s.classic
			default:
				st.node = s.slots.owner(topicSlot(name))
			}
		}
		if !s.cluster || st.node != "" {
			need[st.node] = true
		}
	}
	s.need = need
	for addr := range need {
		if se := s.sessions[addr]; se != nil {
			if !se.stopping {
				poke(se.kick)
			}
			continue // a stopping session is started again once it ended
		}
		if r := sv.next[addr]; r != nil && now.Before(r.at) {
			earliest(r.at)
			continue
		}
		sv.start(addr)
	}
	for addr, se := range s.sessions {
		if !need[addr] && !se.stopping {
			se.stopping = true
			se.cancel()
		}
	}
	if s.cluster && (s.stale || s.slots == nil) {
		earliest(sv.refresh.at)
	}
	return wake
}

// learnSlots asks the cluster which primary owns which slot.
func (sv *supervisor) learnSlots(now time.Time) {
	s := sv.s
	ctx, cancel := context.WithTimeout(sv.ctx, refreshTimeout)
	table, err := clusterSlots(ctx, s.client)
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
	s.slots, s.stale = table, false
	s.mu.Unlock()
}

// pickClassic chooses the node for classic pub/sub on a cluster: any
// primary (Redis forwards every PUBLISH to every node), at random so that
// gateways spread over the nodes, and not one just failed. Called with
// s.mu held.
func (sv *supervisor) pickClassic(now time.Time) string {
	var ok []string
	all := sv.s.slots.primaries()
	for _, addr := range all {
		if r := sv.next[addr]; r == nil || !now.Before(r.at) {
			ok = append(ok, addr)
		}
	}
	if len(ok) == 0 {
		ok = all
	}
	if len(ok) == 0 {
		return ""
	}
	return ok[rand.IntN(len(ok))]
}

// start runs a session to addr. Called with s.mu held.
func (sv *supervisor) start(addr string) {
	s := sv.s
	ctx, cancel := context.WithCancel(sv.ctx)
	se := &session{addr: addr, kick: make(chan struct{}, 1), cancel: cancel}
	s.sessions[addr] = se
	sv.wg.Add(1)
	go func() {
		defer sv.wg.Done()
		err := s.session(ctx, se)
		wasUp := s.lost(se)
		cancel()
		select {
		case sv.ended <- sessionEnd{se: se, err: err, wasUp: wasUp}:
		case <-sv.stopped:
		}
	}()
}

// lost marks every subscription of se as gone with its connection and
// reports whether the session had been up.
func (s *subscriber) lost(se *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasUp := se.up
	se.up = false
	for _, st := range s.topics {
		if st.node != se.addr {
			continue
		}
		if st.confirmed {
			st.ready = make(chan struct{})
		}
		st.onWire, st.confirmed = false, false
		if s.cluster {
			st.node = "" // route again: ownership may have moved
		}
	}
	return wasUp
}

// session runs one subscription connection to se.addr until it fails or
// ctx ends.
func (s *subscriber) session(ctx context.Context, se *session) error {
	client := s.client
	if s.cluster {
		opt := s.nodeOpt
		opt.InitAddress = []string{se.addr}
		c, err := rueidis.NewClient(opt)
		if c != nil {
			defer c.Close()
		}
		if err != nil {
			return fmt.Errorf("connect to %s: %w", se.addr, err)
		}
		client = c
	}
	dc, release := client.Dedicate()
	defer release()
	wait := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage:      s.onMessage,
		OnSubscription: func(sub rueidis.PubSubSubscription) { s.onSubscription(se, sub) },
	})
	if err := dc.Do(ctx, dc.B().Ping().Build()).Error(); err != nil {
		dc.Close()
		return fmt.Errorf("ping: %w", err)
	}
	s.mu.Lock()
	se.up = true
	s.mu.Unlock()
	s.log.Info("redis subscription connected", "node", se.addr)
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

// sync sends the SUBSCRIBE and UNSUBSCRIBE commands that bring the
// connection in line with the topics routed to it.
func (s *subscriber) sync(ctx context.Context, dc rueidis.DedicatedClient, se *session) error {
	s.mu.Lock()
	var add, drop []string
	for t, st := range s.topics {
		if st.node != se.addr {
			continue
		}
		switch {
		case st.wanted && !st.onWire:
			add = append(add, t)
			st.onWire = true
		case !st.wanted && st.onWire:
			drop = append(drop, t)
			st.onWire, st.confirmed, st.ever = false, false, false
			st.ready = make(chan struct{})
		}
	}
	s.mu.Unlock()
	if err := s.send(ctx, dc, se.addr, add, true); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := s.send(ctx, dc, se.addr, drop, false); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	if len(drop) > 0 {
		s.mu.Lock()
		for _, t := range drop {
			if st := s.topics[t]; st != nil && !st.wanted && !st.onWire {
				delete(s.topics, t)
			}
		}
		s.mu.Unlock()
		if s.cluster && s.sharded {
			poke(s.kick) // the session may have nothing left to hold
		}
	}
	return nil
}

// send subscribes (or unsubscribes) topics in batches of subscribeBatch,
// pipelined. With sharded pub/sub on a cluster a batch holds the topics of
// one hash slot only: Redis refuses channels of several slots in one
// SSUBSCRIBE (CROSSSLOT). A batch refused with MOVED or ASK (the slot is no
// longer this node's) is routed again; an unsubscribe refused so is done
// already (Redis dropped the subscriptions when the slot moved).
func (s *subscriber) send(ctx context.Context, dc rueidis.DedicatedClient, addr string, topics []string, sub bool) error {
	if len(topics) == 0 {
		return nil
	}
	var batches [][]string
	if s.cluster && s.sharded {
		bySlot := make(map[int][]string)
		for _, t := range topics {
			slot := topicSlot(t)
			bySlot[slot] = append(bySlot[slot], t)
		}
		for _, ts := range bySlot {
			for len(ts) > 0 {
				n := min(len(ts), subscribeBatch)
				batches = append(batches, ts[:n])
				ts = ts[n:]
			}
		}
	} else {
		for len(topics) > 0 {
			n := min(len(topics), subscribeBatch)
			batches = append(batches, topics[:n])
			topics = topics[n:]
		}
	}
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
			var re *rueidis.RedisError
			if !errors.As(err, &re) {
				return err
			}
			if _, moved := re.IsRedirect(); !moved && !re.IsTryAgain() && !re.IsClusterDown() {
				return err
			}
			if sub {
				s.reroute(batches[i])
			}
			s.log.Info("redis subscription redirected; learning slots again", "node", addr, "err", err)
		}
		batches = batches[n:]
	}
	return nil
}

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
	for _, t := range topics {
		if st := s.topics[t]; st != nil && st.onWire && !st.confirmed {
			st.onWire, st.node = false, ""
		}
	}
	s.stale = true
	s.mu.Unlock()
	poke(s.kick)
}

// onMessage runs on the connection's reader goroutine.
func (s *subscriber) onMessage(m rueidis.PubSubMessage) {
	if sink := s.live.Load(); sink != nil && *sink != nil {
		(*sink).Message(m.Channel, []byte(m.Message))
	}
}

// onSubscription runs on se's connection reader goroutine, in order with
// the messages, which is what lets the sink hold back live messages from
// exactly the moment a re-subscription took effect. It must not block.
func (s *subscriber) onSubscription(se *session, sub rueidis.PubSubSubscription) {
	s.mu.Lock()
	current := s.sessions[se.addr] == se
	s.mu.Unlock()
	if !current {
		return // a late notice from a connection already replaced
	}
	switch sub.Kind {
	case "subscribe", "ssubscribe":
	case "sunsubscribe", "unsubscribe":
		// Redis drops sharded subscriptions when a slot migrates to another
		// node; if the topic is still wanted, learn who owns it now and
		// subscribe there (the re-confirmation reports the gap).
		s.mu.Lock()
		st := s.topics[sub.Channel]
		if st == nil || st.node != se.addr || !st.wanted || !st.confirmed {
			s.mu.Unlock()
			return
		}
		st.onWire, st.confirmed = false, false
		st.ready = make(chan struct{})
		if s.cluster {
			st.node, s.stale = "", true
		}
		s.mu.Unlock()
		s.log.Info("redis dropped a subscription; subscribing again", "topic", sub.Channel, "node", se.addr)
		poke(s.kick)
		return
	default:
		return
	}
	s.mu.Lock()
	st := s.topics[sub.Channel]
	if st == nil || st.node != se.addr || st.confirmed {
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
