package gateway

import (
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// This file is the hub's side of a topic's setup and backfill: the hold,
// which keeps live messages back while history is read, so that history
// and live messages meet without a gap. The feed (setup.go, backfill.go)
// decides when to hold and when to release.

// maxPending bounds the live messages a topic holds back while it is being
// backfilled; past it they are dropped and the backfill reads them from
// history instead.
const maxPending = 65536

// holdState is what a topic does with the live messages it receives.
type holdState uint8

const (
	// flowing: live messages are dispatched as they arrive.
	flowing holdState = iota
	// holding: live messages are kept, in order, until the hold is released.
	holding
	// overflowed: holding, but more than maxPending arrived and some were
	// dropped; the release fails once, so history is read again.
	overflowed
)

func (s holdState) String() string {
	switch s {
	case flowing:
		return "flowing"
	case holding:
		return "holding"
	case overflowed:
		return "overflowed"
	}
	return "unknown"
}

// topicHold is a topic's hold (guarded by hubTopic.mu). Every hold has a
// generation: a release presents the generation of the hold it read
// history for, and fails if another hold began since.
type topicHold struct {
	state   holdState
	gen     int
	pending []*frame // kept live messages, while not flowing
}

// The decisions below are pure functions of the hold's state, so they can
// be table-tested without a hub; the hub methods apply them under the
// topic's lock.

// holdOnLive decides what a live message does on a topic in state s that
// keeps held messages already: dispatched (dispatch), kept (keep), or
// dropped, which overflows the hold.
func holdOnLive(s holdState, held int) (next holdState, dispatch, keep bool) {
	switch {
	case s == flowing:
		return flowing, true, false
	case s == holding && held < maxPending:
		return holding, false, true
	default:
		return overflowed, false, false
	}
}

// holdOnHold is the state after a new hold begins: an overflow is not
// forgotten by a new hold (its dropped messages are still missing).
func holdOnHold(s holdState) holdState {
	if s == overflowed {
		return overflowed
	}
	return holding
}

// holdOnRelease decides a release that presents generation gen (0: any)
// of a hold in state s whose current generation is cur. It fails when
// another hold began since gen or when held messages were dropped; then
// the held messages are discarded (history holds them), an overflow is
// forgotten and the topic keeps its state otherwise: the caller reads
// history again. When it succeeds the held messages are dispatched and the
// topic flows.
func holdOnRelease(s holdState, gen, cur int) (next holdState, ok bool) {
	if (gen != 0 && gen != cur) || s == overflowed {
		if s == overflowed {
			s = holding
		}
		return s, false
	}
	return flowing, true
}

// keep applies holdOnLive to f, a live message of a topic that does not flow.
func (h *topicHold) keep(f *frame) {
	next, _, keep := holdOnLive(h.state, len(h.pending))
	h.state = next
	if keep {
		h.pending = append(h.pending, f)
	}
}

// dispatchHistory dispatches an event read from history while the topic
// holds live messages back.
func (h *hub) dispatchHistory(topic string, e broker.Entry) bool {
	t := h.topic(topic)
	if t == nil {
		return false
	}
	f := newFrame(topic, e.ID, true, e.Event, e.Data, e.AcceptedAt)
	t.mu.Lock()
	defer t.mu.Unlock()
	before := t.last
	h.dispatchLocked(t, f)
	return before != t.last
}

// hold makes the topic hold live messages back and returns the hold's
// generation, which release must present.
func (h *hub) hold(topic string) (gen int, ok bool) {
	t := h.topic(topic)
	if t == nil {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hold.state = holdOnHold(t.hold.state)
	t.hold.gen++
	return t.hold.gen, true
}

// isHolding reports whether topic holds live messages back.
func (h *hub) isHolding(topic string) bool {
	t := h.topic(topic)
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hold.state != flowing
}

// lastID is the newest ID dispatched on topic.
func (h *hub) lastID(topic string) (streamid.ID, bool) {
	t := h.topic(topic)
	if t == nil {
		return streamid.ID{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last, true
}

// release ends a hold (holdOnRelease): known becomes the topic's position
// if it is newer, and the held messages are dispatched in order. When it
// fails the topic keeps holding and the caller must read history again
// (from the position, which known has already advanced).
func (h *hub) release(topic string, known streamid.ID, gen int) bool {
	t := h.topic(topic)
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return h.releaseLocked(t, known, gen)
}

// releaseLocked is release under the topic's lock.
func (h *hub) releaseLocked(t *hubTopic, known streamid.ID, gen int) bool {
	if t.last.Less(known) {
		t.last = known
		t.win.clear(h.win) // the position moved past events the window lacks
	}
	next, ok := holdOnRelease(t.hold.state, gen, t.hold.gen)
	t.hold.state = next
	if !ok {
		t.hold.pending = t.hold.pending[:0]
		return false
	}
	for _, f := range t.hold.pending {
		h.dispatchLocked(t, f)
	}
	t.hold.pending = nil
	return true
}

// abandon ends topic's hold whatever its generation and overflow, at the
// position known (if it is newer): the backfill gave up, its clients are
// disconnected and resume by themselves. Held messages are dispatched
// unless some were dropped.
func (h *hub) abandon(topic string, known streamid.ID) {
	if !h.release(topic, known, 0) {
		h.release(topic, known, 0) // the first one only forgot an overflow
	}
}

// rebase moves topic to another history whose IDs are not comparable to
// the ones dispatched so far (its stream was lost and recreated behind
// them): every member is closed for reason, since its position belongs to
// the old history and it must resume (and be told with a reset), and last
// becomes the topic's position. Under one lock, so no member sees an event
// of the new history. A hold goes on: held messages after last are still
// dispatched by the release.
func (h *hub) rebase(topic string, last streamid.ID, reason string) {
	t := h.topic(topic)
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.members {
		m.c.close(reason)
	}
	t.last = last
	t.win.clear(h.win) // its events belong to the old history
}
