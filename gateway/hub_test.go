package gateway

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// msg is one channel message in a test script: an enveloped event with an
// ID, or a legacy raw message (ms == 0).
type msg struct {
	ms  uint64
	raw string
}

func (m msg) payload() []byte {
	if m.ms == 0 {
		return []byte(m.raw)
	}
	return envMsg(sid(m.ms), fmt.Sprintf("e%d", m.ms))
}

// describe names what a conn got: the id's ms for events, "raw:<data>" else.
func describe(frames []*frame) []string {
	out := make([]string, 0, len(frames))
	for _, f := range frames {
		if f.hasID {
			out = append(out, fmt.Sprint(f.id.Ms))
		} else {
			out = append(out, "raw:"+string(f.body[len("data: "):len(f.body)-2]))
		}
	}
	return out
}

func TestHubDispatchOrdersAndDeduplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		known uint64 // topic position at subscription
		in    []msg
		want  []string
	}{
		{"in order", 0, []msg{{ms: 1}, {ms: 2}, {ms: 3}}, []string{"1", "2", "3"}},
		{"duplicate", 0, []msg{{ms: 1}, {ms: 2}, {ms: 2}, {ms: 3}}, []string{"1", "2", "3"}},
		{"out of order dropped", 0, []msg{{ms: 1}, {ms: 3}, {ms: 2}, {ms: 4}}, []string{"1", "3", "4"}},
		{"not after subscription position", 5, []msg{{ms: 3}, {ms: 5}, {ms: 6}}, []string{"6"}},
		{"raw passes untouched", 0, []msg{{ms: 1}, {raw: "x"}, {ms: 1}, {raw: "y"}, {ms: 2}}, []string{"1", "raw:x", "raw:y", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHub()
			openTopic(t, h, "t", sid(tt.known))
			c := newConn("c", []string{"t"}, 100, func(int) {})
			h.join(c)
			for _, m := range tt.in {
				h.message("t", m.payload())
			}
			got := describe(c.take().frames)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("delivered %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHubMessageForUnknownTopicIsIgnored(t *testing.T) {
	t.Parallel()
	h := newTestHub()
	h.message("nobody", envMsg(sid(1), "x")) // must not panic or create the topic
	if h.topic("nobody") != nil {
		t.Fatal("message created a topic")
	}
}

func TestHubHoldRelease(t *testing.T) {
	t.Parallel()
	entry := func(ms uint64) broker.Entry {
		return broker.Entry{ID: sid(ms), Data: fmt.Appendf(nil, "e%d", ms)}
	}
	tests := []struct {
		name      string
		live      []uint64 // arrive while held
		history   []uint64 // read from history while held
		extraHold bool     // another hold begins before release
		release   []bool   // expected results of release attempts
		want      []string
	}{
		{
			name:    "history then held live, overlap delivered once",
			live:    []uint64{4, 5, 6},
			history: []uint64{2, 3, 4, 5},
			release: []bool{true},
			want:    []string{"2", "3", "4", "5", "6"},
		},
		{
			name:    "nothing in history",
			live:    []uint64{2, 3},
			release: []bool{true},
			want:    []string{"2", "3"},
		},
		{
			name:    "history covers everything held",
			live:    []uint64{2, 3},
			history: []uint64{2, 3},
			release: []bool{true},
			want:    []string{"2", "3"},
		},
		{
			name:      "generation changed: release fails, then the new hold releases",
			live:      []uint64{2, 3},
			history:   []uint64{2},
			extraHold: true,
			release:   []bool{false, true},
			want:      []string{"2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHub()
			openTopic(t, h, "t", sid(1))
			c := newConn("c", []string{"t"}, 100, func(int) {})
			h.join(c)
			gen, ok := h.hold("t")
			if !ok {
				t.Fatal("hold failed")
			}
			for _, ms := range tt.live {
				h.message("t", envMsg(sid(ms), "live"))
			}
			if got := c.take().frames; len(got) != 0 {
				t.Fatalf("held messages were delivered before release: %v", describe(got))
			}
			for _, ms := range tt.history {
				h.dispatchHistory("t", entry(ms))
			}
			gens := []int{gen}
			if tt.extraHold {
				g2, _ := h.hold("t")
				gens = append(gens, g2)
			}
			for i, want := range tt.release {
				if got := h.release("t", streamid.Zero, gens[i]); got != want {
					t.Fatalf("release #%d = %v, want %v", i, got, want)
				}
			}
			got := describe(c.take().frames)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("delivered %v, want %v", got, tt.want)
			}
			// Live again: the next message goes straight through.
			h.message("t", envMsg(sid(100), "after"))
			if got := describe(c.take().frames); !slices.Equal(got, []string{"100"}) {
				t.Fatalf("after release delivered %v, want [100]", got)
			}
		})
	}
}

func TestHubReleaseFailsWhenHeldMessagesOverflowed(t *testing.T) {
	t.Parallel()
	h := newTestHub()
	openTopic(t, h, "t", sid(0))
	c := newConn("c", []string{"t"}, 2*maxPending, func(int) {})
	h.join(c)
	gen, _ := h.hold("t")
	for i := range maxPending + 1 {
		h.message("t", envMsg(sid(uint64(i+1)), ""))
	}
	if h.release("t", streamid.Zero, gen) {
		t.Fatal("release succeeded although held messages were dropped")
	}
	// Still holding: nothing gets through until history is read again.
	h.message("t", envMsg(sid(maxPending+5), ""))
	if got := len(c.take().frames); got != 0 {
		t.Fatalf("%d frames delivered while the topic should still hold", got)
	}
	gen, _ = h.hold("t")
	if !h.release("t", streamid.Zero, gen) {
		t.Fatal("release after a fresh hold failed")
	}
}

func TestHubReleaseKnownPosition(t *testing.T) {
	t.Parallel()
	h := newTestHub()
	h.open("t")
	c := newConn("c", []string{"t"}, 100, func(int) {})
	// Messages that were published before the topic's newest ID (known)
	// are in history: they must not be delivered live again.
	h.message("t", envMsg(sid(3), ""))
	h.message("t", envMsg(sid(5), ""))
	h.message("t", envMsg(sid(6), ""))
	h.release("t", sid(5), 0)
	if last, _ := h.lastID("t"); last != sid(6) {
		t.Fatalf("lastID = %v, want 6-0", last)
	}
	snap := h.join(c)
	if snap[0] != sid(6) {
		t.Fatalf("join snapshot = %v, want 6-0", snap[0])
	}
}

// checkMembers verifies that every topic's member list holds exactly want
// and that each member's slot index points back at it.
func checkMembers(t *testing.T, h *hub, want map[string]map[*conn]bool) {
	t.Helper()
	for name, set := range want {
		tp := h.topic(name)
		if tp == nil {
			t.Fatalf("topic %q missing", name)
		}
		tp.mu.Lock()
		members := slices.Clone(tp.members)
		slots := make([]int, len(members))
		for k, m := range members {
			slots[k] = m.c.slots[m.ti]
		}
		tp.mu.Unlock()
		if len(members) != len(set) {
			t.Fatalf("topic %q has %d members, want %d", name, len(members), len(set))
		}
		seen := make(map[*conn]bool, len(members))
		for k, m := range members {
			if !set[m.c] || seen[m.c] {
				t.Fatalf("topic %q slot %d holds an unexpected or repeated conn %s", name, k, m.c.id)
			}
			seen[m.c] = true
			if m.c.topics[m.ti] != name {
				t.Fatalf("topic %q slot %d: member topic index %d names %q", name, k, m.ti, m.c.topics[m.ti])
			}
			if slots[k] != k {
				t.Fatalf("topic %q slot %d: conn %s thinks it is at %d", name, k, m.c.id, slots[k])
			}
		}
	}
}

func TestHubMembersRandomJoinLeave(t *testing.T) {
	t.Parallel()
	topics := []string{"a", "b", "c", "d"}
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 42))
			h := newTestHub()
			want := make(map[string]map[*conn]bool)
			for _, name := range topics {
				openTopic(t, h, name, streamid.Zero)
				want[name] = make(map[*conn]bool)
			}
			var live []*conn
			for op := range 2000 {
				if len(live) == 0 || rng.IntN(100) < 55 {
					var mine []string
					for _, name := range topics {
						if rng.IntN(2) == 0 {
							mine = append(mine, name)
						}
					}
					if len(mine) == 0 {
						mine = topics[:1]
					}
					c := newConn(fmt.Sprint(op), mine, 4, func(int) {})
					h.join(c)
					live = append(live, c)
					for _, name := range mine {
						want[name][c] = true
					}
				} else {
					i := rng.IntN(len(live))
					c := live[i]
					live = slices.Delete(live, i, i+1)
					h.leave(c)
					for _, name := range c.topics {
						delete(want[name], c)
					}
				}
				checkMembers(t, h, want)
			}
			if got := h.count(); got != len(live) {
				t.Fatalf("count = %d, want %d", got, len(live))
			}
		})
	}
}

func TestHubMembersConcurrentJoinLeave(t *testing.T) {
	t.Parallel()
	topics := []string{"a", "b", "c"}
	h := newTestHub()
	for _, name := range topics {
		openTopic(t, h, name, streamid.Zero)
	}
	const workers, rounds = 8, 300
	kept := make([][]*conn, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []*conn
			for r := range rounds {
				if len(mine) > 0 && rng.IntN(2) == 0 {
					i := rng.IntN(len(mine))
					h.leave(mine[i])
					mine = slices.Delete(mine, i, i+1)
					continue
				}
				sub := slices.Clone(topics[rng.IntN(len(topics)):])
				c := newConn(fmt.Sprintf("w%d-%d", w, r), sub, 1024, func(int) {}) // never full
				h.join(c)
				mine = append(mine, c)
			}
			kept[w] = mine
		}()
	}
	// Fan-out runs concurrently with the membership changes.
	for i := range 200 {
		h.message(topics[i%len(topics)], envMsg(sid(uint64(i+1)), ""))
	}
	wg.Wait()
	want := make(map[string]map[*conn]bool)
	for _, name := range topics {
		want[name] = make(map[*conn]bool)
	}
	for _, mine := range kept {
		for _, c := range mine {
			for _, name := range c.topics {
				want[name][c] = true
			}
			if c.take().closed { // forget what the concurrent fan-out queued
				t.Fatalf("conn %s was closed", c.id)
			}
		}
	}
	checkMembers(t, h, want)
	// Exactly the remaining members get the next message, once each.
	h.message("a", envMsg(sid(10000), ""))
	for _, mine := range kept {
		for _, c := range mine {
			n := len(c.take().frames)
			if wantN := map[bool]int{true: 1, false: 0}[slices.Contains(c.topics, "a")]; n != wantN {
				t.Fatalf("conn %s (topics %v) got %d frames, want %d", c.id, c.topics, n, wantN)
			}
		}
	}
}

func TestHubEvictTopic(t *testing.T) {
	t.Parallel()
	h := newTestHub()
	openTopic(t, h, "a", streamid.Zero)
	openTopic(t, h, "b", streamid.Zero)
	ca := newConn("ca", []string{"a"}, 4, func(int) {})
	cb := newConn("cb", []string{"b"}, 4, func(int) {})
	h.join(ca)
	h.join(cb)
	h.evictTopic("a", reasonError)
	if w := ca.take(); !w.closed || w.reason != reasonError {
		t.Fatalf("conn of evicted topic: closed=%v reason=%q", w.closed, w.reason)
	}
	if w := cb.take(); w.closed {
		t.Fatal("conn of another topic was closed")
	}
}

// TestHubRebase: a topic moved to a recreated history behind its old IDs
// closes its members, takes the new position even though it is older, and
// its hold goes on: held messages after the new position are released to
// members that joined since, nothing older.
func TestHubRebase(t *testing.T) {
	t.Parallel()
	h := newTestHub()
	openTopic(t, h, "r", streamid.Zero)
	old := newConn("old", []string{"r"}, 8, func(int) {})
	h.join(old)
	h.message("r", envMsg(sid(100), "before the loss"))
	gen, _ := h.hold("r")
	h.message("r", envMsg(sid(6), "new history, held"))
	h.rebase("r", sid(5), reasonError)
	if w := old.take(); !w.closed || w.reason != reasonError || len(w.frames) != 1 {
		t.Fatalf("member from before the rebase: closed=%v reason=%q frames=%d, want closed for error after 1 frame", w.closed, w.reason, len(w.frames))
	}
	if last, _ := h.lastID("r"); last != sid(5) {
		t.Fatalf("position after the rebase = %v, want 5-0", last)
	}
	joined := newConn("joined", []string{"r"}, 8, func(int) {})
	if snap := h.join(joined); snap[0] != sid(5) {
		t.Fatalf("join position %v, want 5-0", snap[0])
	}
	if h.dispatchHistory("r", broker.Entry{ID: sid(4), Data: []byte("before the position")}) {
		t.Fatal("an entry before the new position was dispatched")
	}
	if !h.release("r", streamid.Zero, gen) {
		t.Fatal("the release after the rebase failed")
	}
	if frames := joined.take().frames; len(frames) != 1 || frames[0].id != sid(6) {
		t.Fatalf("frames %v, want the held 6-0", frames)
	}
}

// TestHubStartupHoldOvertaken: the subscription is re-established while a
// new topic is still being positioned. The startup release must fail (the
// backfill owns the hold now) yet record the known position, so the
// backfill reads from there rather than from the start of history.
func TestHubStartupHoldOvertaken(t *testing.T) {
	t.Parallel()
	h := newTestHub()
	startGen := h.open("t")
	backfillGen, ok := h.hold("t")
	if !ok || backfillGen == startGen {
		t.Fatalf("hold = %d %v after open gen %d", backfillGen, ok, startGen)
	}
	if h.release("t", sid(7), startGen) {
		t.Fatal("the startup release succeeded although a backfill holds the topic")
	}
	if last, _ := h.lastID("t"); last != sid(7) {
		t.Fatalf("position after the failed release = %v, want 7-0", last)
	}
	c := newConn("c", []string{"t"}, 100, func(int) {})
	h.join(c)
	h.message("t", envMsg(sid(9), "live")) // held: the backfill has not caught up
	if n := len(c.take().frames); n != 0 {
		t.Fatalf("%d frames delivered while holding", n)
	}
	if !h.dispatchHistory("t", broker.Entry{ID: sid(8), Data: []byte("missed")}) {
		t.Fatal("history entry after the position was not dispatched")
	}
	if !h.release("t", streamid.Zero, backfillGen) {
		t.Fatal("the backfill's release failed")
	}
	frames := c.take().frames
	if len(frames) != 2 || frames[0].id != sid(8) || frames[1].id != sid(9) {
		t.Fatalf("frames %v, want 8-0 then 9-0", frames)
	}
}
