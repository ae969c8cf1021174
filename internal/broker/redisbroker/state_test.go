package redisbroker_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/streamid"
)

// stateBroker is what the keyed-state tests use of a broker; the Redis and
// the in-process broker must behave alike.
type stateBroker interface {
	Publish(ctx context.Context, req broker.PublishRequest) (broker.PublishResult, error)
	History(ctx context.Context, topic string, after, until streamid.ID, limit int) (broker.Page, error)
	State(ctx context.Context, topic string) (broker.State, error)
}

// stateEnv builds brokers on one backend. trim empties a topic's history
// (what MAXLEN and age trimming do over time); xlen counts it.
type stateEnv struct {
	open func(t *testing.T, cfg broker.HistoryConfig) stateBroker
	trim func(t *testing.T, b stateBroker, topic string)
	xlen func(t *testing.T, b stateBroker, topic string) int
}

// TestState runs the keyed-state contract on the in-process broker and a
// single Redis server (the cluster runs it in TestCluster).
func TestState(t *testing.T) {
	t.Run("membroker", func(t *testing.T) {
		testState(t, stateEnv{
			open: func(_ *testing.T, cfg broker.HistoryConfig) stateBroker {
				cfg.MaxLen = 3 // trim: three unkeyed events push everything else out
				return membroker.New(cfg)
			},
			trim: func(t *testing.T, b stateBroker, topic string) {
				for range 3 {
					mustPublish(t, b, broker.PublishRequest{Topic: topic, Data: []byte("filler")})
				}
			},
			xlen: func(t *testing.T, b stateBroker, topic string) int {
				p, err := b.History(ctxT(t), topic, streamid.Zero, streamid.Zero, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				return len(p.Entries)
			},
		})
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		testState(t, redisStateEnv(func(string) node { return srv }, srv.URL(), false))
	})
}

// testStateCluster is TestState's Redis part on a cluster with sharded
// pub/sub: every key of a topic is in the topic's slot.
func testStateCluster(t *testing.T, c *redistest.Cluster) {
	testState(t, redisStateEnv(func(key string) node { return c.PrimaryForSlot(t, redistest.Slot(key)) }, c.URL(), true))
}

func redisStateEnv(owner func(key string) node, url string, sharded bool) stateEnv {
	return stateEnv{
		open: func(t *testing.T, cfg broker.HistoryConfig) stateBroker {
			b, err := redisbroker.New(redisbroker.Options{URL: url, Sharded: sharded, History: cfg})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(b.Close)
			return b
		},
		trim: func(t *testing.T, _ stateBroker, topic string) {
			owner(redisbroker.StreamKey(topic)).Do(t, "XTRIM", redisbroker.StreamKey(topic), "MAXLEN", "0")
		},
		xlen: func(t *testing.T, _ stateBroker, topic string) int {
			n, err := strconv.Atoi(owner(redisbroker.StreamKey(topic)).Do(t, "XLEN", redisbroker.StreamKey(topic)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
	}
}

func testState(t *testing.T, env stateEnv) {
	t.Run("KeysTombstonesPosition", func(t *testing.T) { testStateKeys(t, env) })
	t.Run("MaxKeys", func(t *testing.T) { testStateMaxKeys(t, env) })
	t.Run("SurvivesTrimming", func(t *testing.T) { testStateTrimmed(t, env) })
	t.Run("MaxAge", func(t *testing.T) { testStateMaxAge(t, env) })
}

func mustPublish(t *testing.T, b stateBroker, req broker.PublishRequest) streamid.ID {
	t.Helper()
	req.AcceptedAt = time.Now()
	res, err := b.Publish(ctxT(t), req)
	if err != nil {
		t.Fatalf("Publish(%s, key %q): %v", req.Topic, req.Key, err)
	}
	return res.ID
}

func mustState(t *testing.T, b stateBroker, topic string) broker.State {
	t.Helper()
	st, err := b.State(ctxT(t), topic)
	if err != nil {
		t.Fatalf("State(%s): %v", topic, err)
	}
	return st
}

// stateText renders entries as "key=data@id ..." for comparison.
func stateText(entries []broker.StateEntry) string {
	s := ""
	for _, e := range entries {
		s += fmt.Sprintf("%s=%s@%s ", e.Key, e.Data, e.ID)
	}
	return s
}

func want(entries ...any) string {
	s := ""
	for i := 0; i < len(entries); i += 3 {
		s += fmt.Sprintf("%s=%s@%s ", entries[i], entries[i+1], entries[i+2])
	}
	return s
}

func testStateKeys(t *testing.T, env stateEnv) {
	b := env.open(t, broker.HistoryConfig{})
	const topic = "state-keys"
	if st := mustState(t, b, topic); len(st.Entries) != 0 || !st.Position.IsZero() {
		t.Fatalf("state of a new topic = %+v", st)
	}
	a1 := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "a", Event: "spool", Data: []byte(`{"v":1}`)})
	b1 := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "b", Data: []byte(`{"v":1}`)})
	plain := mustPublish(t, b, broker.PublishRequest{Topic: topic, Data: []byte(`unkeyed`)})
	a2 := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "a", Event: "spool", Data: []byte(`{"v":2}`)})
	st := mustState(t, b, topic)
	if got, w := stateText(st.Entries), want("b", `{"v":1}`, b1, "a", `{"v":2}`, a2); got != w {
		t.Fatalf("state = %s, want %s (a1 %s)", got, w, a1)
	}
	if st.Position != a2 || st.Entries[1].Event != "spool" || st.Entries[0].Event != "" || st.Entries[1].AcceptedAt.IsZero() {
		t.Fatalf("position %s, entries %+v", st.Position, st.Entries)
	}
	last := mustPublish(t, b, broker.PublishRequest{Topic: topic, Data: []byte(`unkeyed`)})
	if st := mustState(t, b, topic); st.Position != last || len(st.Entries) != 2 || !plain.Less(last) {
		t.Fatalf("after an unkeyed publish: position %s (want %s), %d entries", st.Position, last, len(st.Entries))
	}
	// A tombstone is an event of the history and removes its key.
	del := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "b", Delete: true, Event: "removed", Data: []byte(`{}`)})
	st = mustState(t, b, topic)
	if got, w := stateText(st.Entries), want("a", `{"v":2}`, a2); got != w || st.Position != del {
		t.Fatalf("after deleting b: %s at %s, want %s at %s", got, st.Position, w, del)
	}
	page, err := b.History(ctxT(t), topic, last, streamid.Zero, 10)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].ID != del || page.Entries[0].Event != "removed" {
		t.Fatalf("history after %s = %+v, %v", last, page, err)
	}
	// Deleting a key the state does not hold is an ordinary event.
	mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "never", Delete: true, Data: []byte(`{}`)})
	if st := mustState(t, b, topic); len(st.Entries) != 1 {
		t.Fatalf("entries = %s", stateText(st.Entries))
	}
}

// testStateMaxKeys checks the eviction at the key limit: a new key while the
// state is full removes the key whose latest event is the oldest and is
// published like any event; updating a held key or a tombstone evicts
// nothing.
func testStateMaxKeys(t *testing.T, env stateEnv) {
	b := env.open(t, broker.HistoryConfig{State: broker.StateConfig{MaxKeys: 3}})
	const topic = "state-max-keys"
	pub := func(key, data string) streamid.ID {
		return mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: key, Data: []byte(data)})
	}
	a1, b1, c1 := pub("a", "1"), pub("b", "1"), pub("c", "1")
	a2 := pub("a", "2") // an update: a's latest is now the newest
	if got, w := stateText(mustState(t, b, topic).Entries), want("b", "1", b1, "c", "1", c1, "a", "2", a2); got != w {
		t.Fatalf("after updating a held key: %s, want %s (a was %s)", got, w, a1)
	}
	d1 := pub("d", "1")
	st := mustState(t, b, topic)
	if got, w := stateText(st.Entries), want("c", "1", c1, "a", "2", a2, "d", "1", d1); got != w || st.Position != d1 {
		t.Fatalf("after a fourth key: %s at %s, want %s at %s (b, the oldest, evicted)", got, st.Position, w, d1)
	}
	page, err := b.History(ctxT(t), topic, a2, streamid.Zero, 10)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].ID != d1 {
		t.Fatalf("history after %s = %+v, %v: want the evicting event %s", a2, page, err, d1)
	}
	// The next new key evicts the next oldest (the age set lost b too).
	e1 := pub("e", "1")
	if got, w := stateText(mustState(t, b, topic).Entries), want("a", "2", a2, "d", "1", d1, "e", "1", e1); got != w {
		t.Fatalf("after a fifth key: %s, want %s", got, w)
	}
	// Unkeyed events and tombstones evict nothing; a tombstone makes room.
	mustPublish(t, b, broker.PublishRequest{Topic: topic, Data: []byte(`plain`)})
	mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "d", Delete: true, Data: []byte(`{}`)})
	f1 := pub("f", "1")
	if got, w := stateText(mustState(t, b, topic).Entries), want("a", "2", a2, "e", "1", e1, "f", "1", f1); got != w {
		t.Fatalf("after a tombstone and a new key: %s, want %s", got, w)
	}
}

func testStateTrimmed(t *testing.T, env stateEnv) {
	b := env.open(t, broker.HistoryConfig{})
	const topic = "state-trimmed"
	a := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "a", Event: "e", Data: []byte(`{"a":1}`)})
	k := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "b", Data: []byte("line1\nline2")})
	env.trim(t, b, topic)
	page, err := b.History(ctxT(t), topic, streamid.Zero, streamid.Zero, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.ID == a || e.ID == k {
			t.Fatalf("history still holds %s after trimming", e.ID)
		}
	}
	st := mustState(t, b, topic)
	if got, w := stateText(st.Entries), want("a", `{"a":1}`, a, "b", "line1\nline2", k); got != w || st.Entries[0].Event != "e" {
		t.Fatalf("state after trimming = %s, want %s", got, w)
	}
	if st.Position.Less(k) {
		t.Fatalf("position %s before entry %s", st.Position, k)
	}
}

func testStateMaxAge(t *testing.T, env stateEnv) {
	const maxAge = 100 * time.Millisecond
	b := env.open(t, broker.HistoryConfig{State: broker.StateConfig{MaxKeys: 1, MaxAge: maxAge}})
	const topic = "state-max-age"
	old := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "old", Data: []byte(`1`)})
	if st := mustState(t, b, topic); len(st.Entries) != 1 {
		t.Fatalf("fresh entry missing: %s", stateText(st.Entries))
	}
	// Skipped on read once older than the limit (the broker's clock)...
	eventually(t, "the old key to expire", func() bool { return len(mustState(t, b, topic).Entries) == 0 })
	// ...and pruned when a new key needs its room.
	fresh := mustPublish(t, b, broker.PublishRequest{Topic: topic, Key: "new", Data: []byte(`2`)})
	if got, w := stateText(mustState(t, b, topic).Entries), want("new", "2", fresh); got != w {
		t.Fatalf("state = %s, want %s (old %s)", got, w, old)
	}
}
