package redisbroker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// node is what the tests need of a Redis server or cluster node.
type node interface {
	Addr() string
	Do(t testing.TB, args ...string) string
	DoSlice(t testing.TB, args ...string) []string
}

// newURLBroker returns a broker on url, closed at cleanup.
func newURLBroker(t *testing.T, url string, sharded bool) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.New(redisbroker.Options{URL: url, Sharded: sharded})
	if err != nil {
		t.Fatalf("New(%s): %v", url, err)
	}
	t.Cleanup(b.Close)
	return b
}

// commandCalls returns INFO commandstats' call count of cmd on n (0 when
// the command never ran since the last CONFIG RESETSTAT).
func commandCalls(t *testing.T, n node, cmd string) int {
	t.Helper()
	for line := range strings.SplitSeq(n.Do(t, "INFO", "commandstats"), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		v, _, _ := strings.Cut(rest, ",")
		calls, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("INFO commandstats %q: %v", line, err)
		}
		return calls
	}
	return 0
}

// pubsubClients counts n's connections of type pubsub.
func pubsubClients(t *testing.T, n node) int {
	t.Helper()
	return strings.Count(n.Do(t, "CLIENT", "LIST", "TYPE", "pubsub"), "id=")
}

// slotOwners reads CLUSTER SLOTS once and returns the primary address
// serving a slot.
func slotOwners(t *testing.T, c *redistest.Cluster) func(slot int) string {
	t.Helper()
	r, err := c.Nodes()[0].Exec(ctxT(t), "CLUSTER", "SLOTS")
	if err != nil {
		t.Fatalf("CLUSTER SLOTS: %v", err)
	}
	type span struct {
		start, end int64
		addr       string
	}
	var spans []span
	for _, e := range r.Elems {
		p := e.Elems[2].Elems
		spans = append(spans, span{e.Elems[0].Int, e.Elems[1].Int, net.JoinHostPort(p[0].Str, p[1].Str)})
	}
	return func(slot int) string {
		for _, sp := range spans {
			if int64(slot) >= sp.start && int64(slot) <= sp.end {
				return sp.addr
			}
		}
		return ""
	}
}

// shardTopics returns count topic names "<prefix><i>" such that every
// primary of c owns at least one, and the owner of each.
func shardTopics(t *testing.T, c *redistest.Cluster, prefix string, count int) (topics []string, owner map[string]*redistest.Node) {
	t.Helper()
	owner = make(map[string]*redistest.Node, count)
	for i := range count {
		tp := fmt.Sprintf("%s%d", prefix, i)
		topics = append(topics, tp)
		owner[tp] = c.PrimaryForSlot(t, redistest.Slot(tp))
	}
	for _, p := range c.Primaries(t) {
		if !slices.ContainsFunc(topics, func(tp string) bool { return owner[tp] == p }) {
			t.Fatalf("no topic of %d in the slots of %s", count, p.Addr())
		}
	}
	return topics, owner
}

// TestTopicSlot pins the slot computation to Redis's own (CLUSTER KEYSLOT
// is CRC16/XMODEM modulo 16384) and to the {topic} hash tag of the keys.
func TestTopicSlot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		topic string
		slot  int
	}{{"a", 15495}, {"b", 3300}, {"c", 7365}, {"spool:S-1", redistest.Slot("spool:S-1")}, {"", 0}} {
		if got := redisbroker.TopicSlot(tc.topic); got != tc.slot {
			t.Errorf("TopicSlot(%q) = %d, want %d", tc.topic, got, tc.slot)
		}
		if got := redistest.Slot(redisbroker.StreamKey(tc.topic)); tc.topic != "" && got != tc.slot {
			t.Errorf("slot of %s = %d, want the topic's %d", redisbroker.StreamKey(tc.topic), got, tc.slot)
		}
	}
}

// TestCluster runs the broker on one Redis Cluster of three primaries
// (shared by the subtests: starting a cluster is the slow part). The slot
// migration, which changes the topology, and then the shard loss run last.
func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	for _, tc := range []struct {
		name string
		test func(*testing.T, *redistest.Cluster)
	}{
		{"ManyTopics", testManyTopics},
		{"Subscription", testClusterSubscription},
		{"Transient", testTransient},
		{"State", testStateCluster},
		{"SlotMigration", testShardedSlotMigration},
		{"ShardDown", testShardDown}, // kills a primary: last
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, c) })
	}
}

// testManyTopics subscribes 5,000 topics in one call and drops them again:
// Redis sees one connection (classic) or one per primary (sharded) and the
// SUBSCRIBE commands come in batches of 256 channels (sharded: one
// SSUBSCRIBE per hash slot, since Redis refuses several slots in one), and
// the subscriber forgets every topic once unsubscribed.
func testManyTopics(t *testing.T, cluster *redistest.Cluster) {
	single := redistest.Start(t)
	const count = 5000
	topics := make([]string, count)
	for i := range topics {
		topics[i] = fmt.Sprintf("spool:S-%05d", i)
	}
	clusterNodes := func() []node {
		var out []node
		for _, n := range cluster.Nodes() {
			out = append(out, n)
		}
		return out
	}
	owner := slotOwners(t, cluster)
	tests := []struct {
		name    string
		url     string
		sharded bool
		nodes   []node
	}{
		{"single server, classic", single.URL(), false, []node{single}},
		{"cluster, classic", cluster.URL(), false, clusterNodes()},
		{"cluster, sharded", cluster.URL(), true, clusterNodes()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range tc.nodes {
				n.Do(t, "CONFIG", "RESETSTAT")
			}
			b := newURLBroker(t, tc.url, tc.sharded)
			run(t, b)
			start := time.Now()
			if err := b.Subscribe(ctxT(t), topics); err != nil {
				t.Fatalf("Subscribe(%d topics): %v", count, err)
			}
			t.Logf("%d topics subscribed in %v", count, time.Since(start))
			subCmd, unsubCmd, channels := "subscribe", "unsubscribe", "CHANNELS"
			if tc.sharded {
				subCmd, unsubCmd, channels = "ssubscribe", "sunsubscribe", "SHARDCHANNELS"
			}
			total, conns := 0, 0
			for _, n := range tc.nodes {
				held := len(n.DoSlice(t, "PUBSUB", channels))
				calls := commandCalls(t, n, subCmd)
				pc := pubsubClients(t, n)
				total += held
				conns += pc
				want := held/256 + 1 // classic: batches of 256 channels
				if tc.sharded {
					// One SSUBSCRIBE per slot among the topics this node holds.
					slots := map[int]bool{}
					for _, tp := range topics {
						if owner(redistest.Slot(tp)) == n.Addr() {
							slots[redistest.Slot(tp)] = true
						}
					}
					want = len(slots)
					if held == 0 && pc != 0 || held > 0 && pc != 1 {
						t.Errorf("%s holds %d channels on %d pubsub connections, want one connection per shard", n.Addr(), held, pc)
					}
				}
				if held > 0 && calls > want || held == 0 && calls != 0 {
					t.Errorf("%s: %d %s commands for %d channels, want at most %d", n.Addr(), calls, subCmd, held, want)
				}
				t.Logf("%s: %d channels, %d %s commands, %d pubsub connections", n.Addr(), held, calls, subCmd, pc)
			}
			if total != count {
				t.Errorf("the nodes hold %d channels, want %d", total, count)
			}
			if !tc.sharded && conns != 1 {
				t.Errorf("%d pubsub connections, want 1 for classic pub/sub", conns)
			}

			b.Unsubscribe(topics)
			eventually(t, "every topic forgotten", func() bool { return redisbroker.TopicCount(b) == 0 })
			for _, n := range tc.nodes {
				eventually(t, "no channel left on "+n.Addr(), func() bool { return len(n.DoSlice(t, "PUBSUB", channels)) == 0 })
				if calls, subs := commandCalls(t, n, unsubCmd), commandCalls(t, n, subCmd); calls > subs {
					t.Errorf("%s: %d %s commands after %d %s", n.Addr(), calls, unsubCmd, subs, subCmd)
				}
			}
		})
	}
}

// testClusterSubscription checks cluster detection from a seed list and
// where subscriptions live: classic pub/sub on one node of the cluster,
// sharded pub/sub on exactly the primaries that own the topics, each
// message delivered once.
func testClusterSubscription(t *testing.T, c *redistest.Cluster) {
	topics, owner := shardTopics(t, c, "shard:", 12)
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharded=%v", sharded), func(t *testing.T) {
			b := newURLBroker(t, c.URL(), sharded)
			if !redisbroker.ClusterMode(b) {
				t.Fatal("the broker did not detect the cluster")
			}
			s := run(t, b)
			eventually(t, "healthy", b.Healthy)
			if err := b.Subscribe(ctxT(t), topics); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			sessions := redisbroker.SessionAddrs(b)
			if want := 1; sharded {
				want = len(c.Primaries(t))
				if len(sessions) != want {
					t.Fatalf("sessions to %v, want one per primary (%d)", sessions, want)
				}
			} else if len(sessions) != want {
				t.Fatalf("sessions to %v, want one", sessions)
			}
			for _, p := range c.Primaries(t) {
				for _, tp := range topics {
					n := p.DoSlice(t, "PUBSUB", "SHARDNUMSUB", tp)[1]
					if want := map[bool]string{true: "1", false: "0"}[sharded && owner[tp] == p]; n != want {
						t.Errorf("PUBSUB SHARDNUMSUB %s on %s = %s, want %s", tp, p.Addr(), n, want)
					}
				}
			}
			for _, tp := range topics {
				res := publish(t, b, broker.PublishRequest{Topic: tp, Data: []byte(tp)})
				// A classic PUBLISH on a cluster counts only the subscribers of
				// the node it ran on (it reaches the others over the bus).
				if sharded && res.Receivers != 1 || res.Receivers > 1 {
					t.Errorf("publish %s reached %d subscribers, want 1", tp, res.Receivers)
				}
				if r := s.next(t, wait); r.resub || r.topic != tp || !bytes.HasSuffix(r.payload, []byte("\n"+tp)) {
					t.Fatalf("sink got %+v, want the event on %s", r, tp)
				}
			}
			b.Unsubscribe(topics)
			eventually(t, "topics forgotten", func() bool { return redisbroker.TopicCount(b) == 0 })
			if sharded {
				eventually(t, "idle shard sessions closed", func() bool { return len(redisbroker.SessionAddrs(b)) == 0 })
			}
		})
	}
}

// testShardedSlotMigration moves a subscribed topic's slot (with its
// history) to another primary: Redis drops the sharded subscription with a
// sunsubscribe; the broker subscribes on the new owner and reports the gap
// with Resubscribed before the next message.
func testShardedSlotMigration(t *testing.T, c *redistest.Cluster) {
	b := newURLBroker(t, c.URL(), true)
	s := run(t, b)
	const topic = "moving"
	slot := strconv.Itoa(redistest.Slot(topic))
	if err := b.Subscribe(ctxT(t), []string{topic}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	first := publish(t, b, broker.PublishRequest{Topic: topic, Data: []byte("before")})
	if r := s.next(t, wait); r.resub || !bytes.HasSuffix(r.payload, []byte("\nbefore")) {
		t.Fatalf("sink got %+v, want the event %s", r, first.ID)
	}
	src := c.PrimaryForSlot(t, redistest.Slot(topic))
	var dst *redistest.Node
	for _, p := range c.Primaries(t) {
		if p != src {
			dst = p
			break
		}
	}
	host, port, _ := net.SplitHostPort(dst.Addr())
	dst.Do(t, "CLUSTER", "SETSLOT", slot, "IMPORTING", src.ID())
	src.Do(t, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.ID())
	src.Do(t, "MIGRATE", host, port, "", "0", "5000", "KEYS", redisbroker.StreamKey(topic))
	for _, p := range c.Primaries(t) {
		p.Do(t, "CLUSTER", "SETSLOT", slot, "NODE", dst.ID())
	}
	if r := s.next(t, wait); !r.resub || r.topic != topic {
		t.Fatalf("sink got %+v, want Resubscribed(%s) after the slot moved", r, topic)
	}
	eventually(t, "subscribed on the new owner", func() bool {
		return dst.DoSlice(t, "PUBSUB", "SHARDNUMSUB", topic)[1] == "1"
	})
	if n := src.DoSlice(t, "PUBSUB", "SHARDNUMSUB", topic)[1]; n != "0" {
		t.Fatalf("the old owner still counts %s subscribers", n)
	}
	second := publish(t, b, broker.PublishRequest{Topic: topic, Data: []byte("after")})
	if r := s.next(t, wait); r.resub || !bytes.HasSuffix(r.payload, []byte("\nafter")) {
		t.Fatalf("sink got %+v, want the event %s", r, second.ID)
	}
	if p := history(t, b, topic, first.ID, second.ID, 10); p.Lost || len(p.Entries) != 1 || p.Entries[0].ID != second.ID {
		t.Fatalf("history after the move = %+v, want just %s after %s", p, second.ID, first.ID)
	}
}

// testShardDown: with sharded pub/sub, a shard that is down (its primary
// gone, no replica to take over, the cluster serving the slots it still
// has) refuses only its own topics: the broker is not Healthy, yet
// HealthyFor the topics of the other shards, which keep delivering, and
// for readiness.
func testShardDown(t *testing.T, c *redistest.Cluster) {
	for _, n := range c.Nodes() {
		n.Do(t, "CONFIG", "SET", "cluster-require-full-coverage", "no")
	}
	b := newURLBroker(t, c.URL(), true)
	s := run(t, b)
	topics, owner := shardTopics(t, c, "down", 16)
	if err := b.Subscribe(ctxT(t), topics); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	eventually(t, "healthy", b.Healthy)
	victim := owner[topics[0]]
	var down, up []string
	for _, tp := range topics {
		if owner[tp] == victim {
			down = append(down, tp)
		} else {
			up = append(up, tp)
		}
	}
	if !b.HealthyFor(topics) {
		t.Fatal("HealthyFor every topic is false before the shard went down")
	}
	victim.Kill(t)
	eventually(t, "not healthy with a shard down", func() bool { return !b.Healthy() })
	for _, tp := range down {
		if b.HealthyFor([]string{tp}) {
			t.Fatalf("HealthyFor(%s) on the dead shard is true", tp)
		}
	}
	if b.HealthyFor([]string{up[0], down[0]}) {
		t.Fatal("HealthyFor a live and a dead shard's topics is true")
	}
	if !b.HealthyFor(up) {
		t.Fatalf("HealthyFor(%v) on the live shards is false", up)
	}
	if !b.HealthyFor(nil) {
		t.Fatal("HealthyFor(nil) (readiness) is false while two shards of three serve")
	}
	res := publish(t, b, broker.PublishRequest{Topic: up[0], Data: []byte("still")})
	if r := s.next(t, wait); r.resub || r.topic != up[0] || !bytes.HasSuffix(r.payload, []byte("\nstill")) {
		t.Fatalf("sink got %+v, want the event %s on a live shard", r, res.ID)
	}
}

// TestClusterFailover kills the primary holding a subscription (sharded:
// the topic's owner; classic: the node the broker subscribed on) and
// expects, after a replica took over, Resubscribed for the topic, a healthy
// broker and delivery of the next event. Publishes that fail meanwhile
// fail with broker.ErrUnavailable.
func TestClusterFailover(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharded=%v", sharded), func(t *testing.T) {
			c := redistest.StartCluster(t, 3, 1)
			b := newURLBroker(t, c.URL(), sharded)
			s := run(t, b)
			const topic = "failover"
			if err := b.Subscribe(ctxT(t), []string{topic}); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			victim := c.PrimaryForSlot(t, redistest.Slot(topic))
			if !sharded {
				addrs := redisbroker.SessionAddrs(b)
				if len(addrs) != 1 {
					t.Fatalf("classic sessions %v, want one", addrs)
				}
				for _, p := range c.Primaries(t) {
					if p.Addr() == addrs[0] {
						victim = p
					}
				}
			}
			c.KillPrimary(t, victim)
			if r := s.next(t, wait); !r.resub || r.topic != topic {
				t.Fatalf("sink got %+v, want Resubscribed(%s) after the failover", r, topic)
			}
			eventually(t, "healthy after the failover", b.Healthy)
			var res broker.PublishResult
			eventually(t, "a publish succeeds", func() bool {
				var err error
				res, err = b.Publish(ctxT(t), broker.PublishRequest{Topic: topic, Data: []byte("after"), AcceptedAt: time.Now(), IdempotencyKey: "k", Fingerprint: "f"})
				if err != nil && !errors.Is(err, broker.ErrUnavailable) {
					t.Fatalf("publish during failover: %v, want ErrUnavailable", err)
				}
				return err == nil
			})
			if r := s.next(t, wait); r.resub || !bytes.HasSuffix(r.payload, []byte("\nafter")) {
				t.Fatalf("sink got %+v, want the event %s", r, res.ID)
			}
		})
	}
}

// testTransient checks which real Redis errors count as "retry later"
// (broker.ErrUnavailable, 503) rather than a fault.
func testTransient(t *testing.T, c *redistest.Cluster) {
	primary := redistest.Start(t)
	replica := redistest.Start(t)
	host, port, _ := net.SplitHostPort(primary.Addr())
	replica.Do(t, "REPLICAOF", host, port)
	single := func(addr string) rueidis.Client {
		// ForceSingleClient returns the client even when it cannot connect.
		cl, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true, DisableCache: true})
		if cl == nil {
			t.Fatalf("client for %s: %v", addr, err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	// A key that node 0 of the cluster does not own answers MOVED there.
	n0 := c.Nodes()[0]
	var foreign string
	for i := 0; foreign == ""; i++ {
		if k := "k" + strconv.Itoa(i); c.PrimaryForSlot(t, redistest.Slot(k)) != n0 {
			foreign = k
		}
	}
	onN0, onReplica, onPrimary := single(n0.Addr()), single(replica.Addr()), single(primary.Addr())
	primary.Do(t, "SET", "str", "x")
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"MOVED", onN0.Do(ctxT(t), onN0.B().Get().Key(foreign).Build()).Error(), true},
		{"READONLY", onReplica.Do(ctxT(t), onReplica.B().Set().Key("a").Value("b").Build()).Error(), true},
		{"READONLY in a script", onReplica.Do(ctxT(t), onReplica.B().Eval().Script("return redis.call('SET','a','b')").Numkeys(0).Build()).Error(), true},
		{"cancelled", onPrimary.Do(expired, onPrimary.B().Ping().Build()).Error(), true},
		{"connection refused", single("127.0.0.1:1").Do(ctxT(t), onPrimary.B().Ping().Build()).Error(), true},
		{"WRONGTYPE", onPrimary.Do(ctxT(t), onPrimary.B().Xlen().Key("str").Build()).Error(), false},
		{"script error", onPrimary.Do(ctxT(t), onPrimary.B().Eval().Script("return redis.call('NOPE')").Numkeys(0).Build()).Error(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the command did not fail")
			}
			if got := redisbroker.Transient(tc.err); got != tc.want {
				t.Fatalf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
