package redisbroker

// topicState is where one topic's subscription stands on the connection
// it is routed to. Transitions are pure functions of the state; the topic
// record applies them and keeps its ready channel in step:
//
//	state          sent           confirm           lose          drop
//	unsubscribed   subscribing    (ignored)         unsubscribed  unsubscribed
//	subscribing    -              subscribed        unsubscribed  unsubscribed
//	subscribed     -              (ignored)         lapsed        unsubscribed
//	lapsed         resubscribing  (ignored)         lapsed        unsubscribed
//	resubscribing  -              subscribed + gap  lapsed        unsubscribed
//
// sent: SUBSCRIBE went out; confirm: Redis confirmed it; lose: it is gone
// without an UNSUBSCRIBE of ours; drop: UNSUBSCRIBE went out.
type topicState uint8

const (
	// unsubscribed: on no connection, and not confirmed since it was last
	// unsubscribed (or ever): its next confirmation is its first.
	unsubscribed topicState = iota
	// subscribing: SUBSCRIBE sent, not confirmed yet.
	subscribing
	// subscribed: Redis confirmed it on its connection.
	subscribed
	// lapsed: it was confirmed, then lost (the connection failed, Redis
	// dropped it when its slot moved, or a node refused it): on no
	// connection, and its next confirmation means messages may be missing.
	lapsed
	// resubscribing: lapsed, and SUBSCRIBE sent again.
	resubscribing
)

func (s topicState) String() string {
	switch s {
	case unsubscribed:
		return "unsubscribed"
	case subscribing:
		return "subscribing"
	case subscribed:
		return "subscribed"
	case lapsed:
		return "lapsed"
	case resubscribing:
		return "resubscribing"
	}
	return "invalid"
}

// onWire reports whether a SUBSCRIBE for the topic is on its connection.
func (s topicState) onWire() bool {
	return s == subscribing || s == subscribed || s == resubscribing
}

// awaiting reports whether a SUBSCRIBE was sent and not confirmed yet.
func (s topicState) awaiting() bool { return s == subscribing || s == resubscribing }

// sent is the state once SUBSCRIBE went out for a topic on no connection;
// a state on the wire already is returned unchanged.
func (s topicState) sent() topicState {
	switch s {
	case unsubscribed:
		return subscribing
	case lapsed:
		return resubscribing
	}
	return s
}

// confirm is the state once Redis confirmed a subscription. gap says the
// topic had been confirmed before and lost since: messages published in
// between are gone from pub/sub. ok is false for a confirmation nothing
// waits for (already confirmed, or no SUBSCRIBE sent): it is ignored.
func (s topicState) confirm() (next topicState, gap, ok bool) {
	switch s {
	case subscribing:
		return subscribed, false, true
	case resubscribing:
		return subscribed, true, true
	}
	return s, false, false
}

// lose is the state once the subscription is gone from its connection
// without an UNSUBSCRIBE of ours: the connection failed, Redis dropped it,
// or a node refused it. A topic confirmed before remembers it (lapsed), so
// that its next confirmation reports the gap.
func (s topicState) lose() topicState {
	switch s {
	case subscribing:
		return unsubscribed
	case subscribed, resubscribing:
		return lapsed
	}
	return s
}

// drop is the state once UNSUBSCRIBE is sent: nothing of the topic's past
// matters any more.
func (topicState) drop() topicState { return unsubscribed }

// topic is the subscriber's record of one topic: whether a local client
// wants it, where its subscription stands, and on which node. Guarded by
// subscriber.mu.
type topic struct {
	wanted bool
	state  topicState
	// ready is closed while the state is subscribed: Subscribe waits on it.
	ready chan struct{}
	// node is the session address the topic is routed to; in a cluster ""
	// means not routed yet (ownership unknown or being learned again).
	node string
}

func newTopic() *topic { return &topic{ready: make(chan struct{})} }

// sent records that SUBSCRIBE went out on the topic's connection.
func (t *topic) sent() { t.state = t.state.sent() }

// confirm records Redis's confirmation; see topicState.confirm.
func (t *topic) confirm() (gap, ok bool) {
	next, gap, ok := t.state.confirm()
	if ok {
		t.state = next
		close(t.ready)
	}
	return gap, ok
}

// lose records that the subscription is gone from its connection and
// unroutes the topic: in a cluster its slot may have moved.
func (t *topic) lose() {
	if t.state == subscribed {
		t.ready = make(chan struct{})
	}
	t.state, t.node = t.state.lose(), ""
}

// drop records that UNSUBSCRIBE is being sent for the topic.
func (t *topic) drop() {
	t.state = t.state.drop()
	t.ready = make(chan struct{})
}
