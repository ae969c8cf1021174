package gateway

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// A topic's window is the most recent events the hub dispatched on it, kept
// as the frames it already encoded, so that a resume from a position among
// them is served from memory with the same bytes instead of reading Redis
// (resume.go, replayWindow). A reconnect storm (a replica died and its
// clients all come back here with their Last-Event-ID) then costs no Redis
// read and no encoding per client.
//
// The window is contiguous: it holds the newest k events of the topic's
// history up to the hub's position (hubTopic.last), none missing. Every
// event the hub dispatches goes through dispatchLocked in ID order, live or
// from a backfill, so appending there keeps it so; wherever the position
// moves without dispatching (a new topic's position, a backfill that gives
// up, a rebase on a new history) the window is cleared first. A resume is
// served from it only when the client's position is an event the window
// holds: then the window provably holds every event after it. Any other
// position (older, or not an event of this history) goes to Redis, which
// decides as before, resets included.
//
// Bounds: events and bytes per topic, and a process-wide byte budget shared
// by every topic. A topic makes room by dropping its own oldest events; an
// event that finds no room even in an empty window is not kept (the window
// then starts again at the next event). Guarded by hubTopic.mu.

// windowConfig bounds the windows of one process; a zero events disables them.
type windowConfig struct {
	events int           // events per topic
	bytes  int64         // bytes per topic
	maxAge time.Duration // positions older than this go to Redis (history's age trim)
	budget *windowBudget // bytes of every topic together
}

func (c windowConfig) enabled() bool { return c.events > 0 && c.bytes > 0 && c.budget != nil }

// windowBudget is the process-wide byte bound of the windows.
type windowBudget struct {
	max  int64
	used *atomic.Int64 // shared with the gauge (metrics_replay.go)
}

// take reserves n bytes, or reports false when they would exceed the bound.
func (b *windowBudget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *windowBudget) give(n int64) { b.used.Add(-n) }

// frameCost is what a frame kept in a window is accounted for: its bytes
// and about what its struct and the window's slot take.
func frameCost(f *frame) int64 { return int64(len(f.full)) + 128 }

// window is one topic's recent events, oldest first: frames[head:].
type window struct {
	frames []*frame
	head   int
	bytes  int64
}

// add appends f, the topic's next event, making room within cfg's bounds.
func (w *window) add(f *frame, cfg windowConfig) {
	cost := frameCost(f)
	if cost > cfg.bytes {
		w.clear(cfg)
		return
	}
	for w.len() > 0 && (w.len() >= cfg.events || w.bytes+cost > cfg.bytes) {
		w.dropOldest(cfg)
	}
	for !cfg.budget.take(cost) {
		if w.len() == 0 {
			return // no room anywhere: the window starts again after f
		}
		w.dropOldest(cfg)
	}
	if len(w.frames) == cap(w.frames) && w.head > 0 {
		// Slide down instead of growing: in place once the slice reached
		// about twice the bound, so the hot path allocates nothing.
		n := copy(w.frames, w.frames[w.head:])
		clear(w.frames[n:])
		w.frames, w.head = w.frames[:n], 0
	}
	w.frames = append(w.frames, f)
	w.bytes += cost
}

func (w *window) len() int { return len(w.frames) - w.head }

func (w *window) dropOldest(cfg windowConfig) {
	f := w.frames[w.head]
	w.frames[w.head] = nil
	w.head++
	cost := frameCost(f)
	w.bytes -= cost
	cfg.budget.give(cost)
}

// clear empties the window and gives its bytes back to the budget.
func (w *window) clear(cfg windowConfig) {
	if cfg.budget != nil {
		cfg.budget.give(w.bytes)
	}
	*w = window{}
}

// after returns the frames after from up to end (inclusive) when from is
// an event the window holds; ok is false otherwise (Redis must decide).
func (w *window) after(from, end streamid.ID) (out []*frame, ok bool) {
	held := w.frames[w.head:]
	at, found := slices.BinarySearchFunc(held, from, func(f *frame, id streamid.ID) int { return f.id.Compare(id) })
	if !found {
		return nil, false
	}
	for _, f := range held[at+1:] {
		if end.Less(f.id) {
			break
		}
		out = append(out, f)
	}
	return out, true
}

// windowAfter returns topic's frames after from up to end when the window
// can serve a resume from from (window.after). end must not be beyond the
// topic's position (it is a snapshot of it taken when the client joined).
func (h *hub) windowAfter(topic string, from, end streamid.ID) ([]*frame, bool) {
	if !h.win.enabled() {
		return nil, false
	}
	if h.win.maxAge > 0 && from.Ms < uint64(time.Now().Add(-h.win.maxAge).UnixMilli()) {
		return nil, false // history may have trimmed it by age: Redis decides
	}
	t := h.topic(topic)
	if t == nil {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last.Less(end) {
		return nil, false // rebased since the client joined
	}
	return t.win.after(from, end)
}

// seedAndRelease is release (hold.go) for a new topic whose position and
// newest events one history read returned (Broker.Recent): its window
// starts with those events, which are the newest ones up to the position.
func (h *hub) seedAndRelease(topic string, page broker.Page, gen int) bool {
	t := h.topic(topic)
	if t == nil {
		return true
	}
	var frames []*frame
	if h.win.enabled() {
		frames = make([]*frame, 0, len(page.Entries))
		for _, e := range page.Entries {
			if !page.Last.Less(e.ID) {
				frames = append(frames, newFrame(topic, e.ID, true, e.Event, e.Data, e.AcceptedAt))
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last.Less(page.Last) {
		t.last = page.Last
		t.win.clear(h.win)
		for _, f := range frames {
			t.win.add(f, h.win)
		}
	}
	return h.releaseLocked(t, page.Last, gen)
}
