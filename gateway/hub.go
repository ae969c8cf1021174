package gateway

import (
	"log/slog"
	"sync"
	"time"

	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/streamid"
)

// member is a connection's place in a topic.
type member struct {
	c  *conn
	ti int // index of the topic in the connection's topic list
}

// hubTopic is the hub's state for one topic.
type hubTopic struct {
	mu      sync.Mutex  // lock order: docs/design.md
	last    streamid.ID // newest ID dispatched (or known at subscription)
	members []member
	hold    topicHold // live messages wait here while history is read (hold.go)
	events  uint64    // events dispatched since the topic opened (status page)
	win     window    // the most recent events, for resumes (window.go)
}

// hub fans messages out to the connections of this process. It knows no
// Redis and no HTTP: it turns broker messages into frames, orders them by ID
// per topic, and queues them on connections without ever blocking.
type hub struct {
	log     *slog.Logger
	metrics *Metrics
	win     windowConfig // bounds of the topics' windows; set before use

	mu     sync.RWMutex // lock order: docs/design.md
	topics map[string]*hubTopic
	conns  map[*conn]struct{}
}

func newHub(log *slog.Logger, m *Metrics) *hub {
	return &hub{log: log, metrics: m, topics: make(map[string]*hubTopic), conns: make(map[*conn]struct{})}
}

func (h *hub) topic(name string) *hubTopic {
	h.mu.RLock()
	t := h.topics[name]
	h.mu.RUnlock()
	return t
}

// open creates a topic that holds live messages back until release, so a
// subscription and the read of the topic's newest ID can happen without a
// window in which a message is missed.
//
// It returns the hold's generation for release.
func (h *hub) open(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[name]
	if t == nil {
		t = &hubTopic{hold: topicHold{state: holding, gen: 1}}
		h.topics[name] = t
		h.metrics.Topics.Inc()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hold.gen
}

// remove forgets a topic that no connection uses any more.
func (h *hub) remove(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[name]; t != nil {
		delete(h.topics, name)
		h.metrics.Topics.Dec()
		t.mu.Lock()
		t.win.clear(h.win) // its bytes go back to the budget
		t.mu.Unlock()
	}
}

// message is the broker sink's entry point for a channel message.
func (h *hub) message(topic string, payload []byte) {
	t := h.topic(topic)
	if t == nil {
		return // unsubscribed a moment ago
	}
	env, ok, err := envelope.Decode(payload)
	if err != nil {
		h.log.Warn("dropping malformed envelope", "topic", topic, "err", err)
		return
	}
	kind := "raw"
	if ok {
		kind = "envelope"
	}
	h.metrics.Received.WithLabelValues(kind).Inc()
	start := time.Now()
	f := newFrame(topic, env.ID, ok, env.Event, env.Data, env.AcceptedAt)
	t.mu.Lock()
	if t.hold.state != flowing {
		t.hold.keep(f)
		t.mu.Unlock()
		return
	}
	h.dispatchLocked(t, f)
	t.mu.Unlock()
	h.metrics.FanoutDuration.Observe(time.Since(start).Seconds())
}

// dispatchLocked queues f on every member unless it is not newer than what
// the topic already dispatched (a duplicate from history and live overlapping).
func (h *hub) dispatchLocked(t *hubTopic, f *frame) {
	if f.hasID {
		if !t.last.Less(f.id) {
			return
		}
		t.last = f.id
		if h.win.enabled() {
			t.win.add(f, h.win)
		}
	}
	t.events++
	for _, m := range t.members {
		m.c.enqueue(f)
	}
}

// join adds c to its topics and returns each topic's current position: every
// event after it will be queued on c, every event up to it is in history.
func (h *hub) join(c *conn) []streamid.ID {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	ts := make([]*hubTopic, len(c.topics))
	for i, name := range c.topics {
		ts[i] = h.topics[name]
	}
	h.mu.Unlock()
	snap := make([]streamid.ID, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		t.mu.Lock()
		c.slots[i] = len(t.members)
		t.members = append(t.members, member{c: c, ti: i})
		snap[i] = t.last
		t.mu.Unlock()
	}
	return snap
}

// leave removes c from its topics.
func (h *hub) leave(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	ts := make([]*hubTopic, len(c.topics))
	for i, name := range c.topics {
		ts[i] = h.topics[name]
	}
	h.mu.Unlock()
	for i, t := range ts {
		if t == nil {
			continue
		}
		t.mu.Lock()
		slot := c.slots[i]
		if slot < len(t.members) && t.members[slot].c == c {
			lastIdx := len(t.members) - 1
			moved := t.members[lastIdx]
			t.members[slot] = moved
			moved.c.slots[moved.ti] = slot
			t.members[lastIdx] = member{}
			t.members = t.members[:lastIdx]
		}
		t.mu.Unlock()
	}
}

// evictTopic disconnects every client of topic, so each resumes from its
// own Last-Event-ID (used when the gateway itself could not recover a gap).
func (h *hub) evictTopic(topic, reason string) {
	t := h.topic(topic)
	if t == nil {
		return
	}
	t.mu.Lock()
	members := append([]member(nil), t.members...)
	t.mu.Unlock()
	for _, m := range members {
		m.c.close(reason)
	}
}

// each calls fn for every connection.
func (h *hub) each(fn func(*conn)) {
	h.mu.RLock()
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	for _, c := range conns {
		fn(c)
	}
}

// count returns the number of connections.
func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}
