package redisbroker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/envelope"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/streamid"
)

// TestMain checks for leaked goroutines, except those rueidis' cluster
// client leaves to end by themselves (see redistest.IgnoreClusterClient).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, redistest.IgnoreClusterClient()...)
}

// wait bounds every wait on a condition in this file.
const wait = 10 * time.Second

// record is one call the broker made on the sink, in call order.
type record struct {
	resub   bool // Resubscribed, else Message
	topic   string
	payload []byte
}

// sink records what the broker delivers without ever blocking it: the
// channel is far larger than any test publishes, and an overflow is a test
// failure rather than a stall of the connection reader.
type sink struct {
	log      chan record
	mu       sync.Mutex
	overflow bool
}

func newSink() *sink { return &sink{log: make(chan record, 1<<14)} }

func (s *sink) put(r record) {
	select {
	case s.log <- r:
	default:
		s.mu.Lock()
		s.overflow = true
		s.mu.Unlock()
	}
}

func (s *sink) Message(topic string, payload []byte) {
	s.put(record{topic: topic, payload: bytes.Clone(payload)})
}

func (s *sink) Resubscribed(topic string) { s.put(record{resub: true, topic: topic}) }

// next returns the next record or fails the test after timeout.
func (s *sink) next(t *testing.T, timeout time.Duration) record {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-s.log:
		return r
	case <-timer.C:
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("no sink call within %v (overflow: %v)", timeout, s.overflow)
		return record{}
	}
}

// newBroker returns a broker on srv, closed at cleanup.
func newBroker(t *testing.T, srv *redistest.Server, hist broker.HistoryConfig) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.New(redisbroker.Options{URL: srv.URL(), History: hist})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// run starts b.Run with a fresh sink; cleanup stops it and waits for it.
func run(t *testing.T, b *redisbroker.Broker) *sink {
	t.Helper()
	s := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, s) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(wait):
			t.Errorf("Run did not return within %v", wait)
		}
	})
	return s
}

// eventually polls cond (an external condition: Redis state) until it
// holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond) // polling Redis, bounded by the deadline
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func publish(t *testing.T, b *redisbroker.Broker, req broker.PublishRequest) broker.PublishResult {
	t.Helper()
	if req.AcceptedAt.IsZero() {
		req.AcceptedAt = time.Now()
	}
	res, err := b.Publish(ctxT(t), req)
	if err != nil {
		t.Fatalf("Publish(%s): %v", req.Topic, err)
	}
	return res
}

func publishN(t *testing.T, b *redisbroker.Broker, topic string, n int) []streamid.ID {
	t.Helper()
	ids := make([]streamid.ID, n)
	for i := range n {
		ids[i] = publish(t, b, broker.PublishRequest{Topic: topic, Data: []byte(strconv.Itoa(i))}).ID
	}
	return ids
}

func history(t *testing.T, b *redisbroker.Broker, topic string, after, until streamid.ID, limit int) broker.Page {
	t.Helper()
	p, err := b.History(ctxT(t), topic, after, until, limit)
	if err != nil {
		t.Fatalf("History(%s, %s): %v", topic, after, err)
	}
	return p
}

// TestPublishEnvelope proves the publish script's channel message is byte
// for byte what envelope.Append builds, so the gateway decodes Redis and
// in-process messages alike, and that history holds the same event.
func TestPublishEnvelope(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	s := run(t, b)
	tests := []struct {
		name, topic, event string
		data               []byte
	}{
		{"json", "spools:updates", "", []byte(`{"event_type":"TOMAR","tag_spool":"S-1"}`)},
		{"named event with spaces", "orders", "order created", []byte(`{"n":1}`)},
		{"data with newlines and spaces", "multi:line", "x", []byte("a b\nc\r\nd")},
		{"empty data", "empty", "", nil},
		{"unicode", "uni", "evento", []byte(`{"t":"señal ✓"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := b.Subscribe(ctxT(t), []string{tc.topic}); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			accepted := time.UnixMicro(time.Now().UnixMicro())
			res := publish(t, b, broker.PublishRequest{Topic: tc.topic, Event: tc.event, Data: tc.data, AcceptedAt: accepted})
			if res.Receivers != 1 || res.Replayed {
				t.Fatalf("result %+v: want 1 receiver, not replayed", res)
			}
			r := s.next(t, wait)
			if r.resub || r.topic != tc.topic {
				t.Fatalf("sink got %+v, want a message on %s", r, tc.topic)
			}
			if want := envelope.Append(nil, res.ID, accepted, tc.event, tc.data); !bytes.Equal(r.payload, want) {
				t.Fatalf("payload\n%q\nwant envelope.Append's\n%q", r.payload, want)
			}
			env, ok, err := envelope.Decode(r.payload)
			if err != nil || !ok {
				t.Fatalf("Decode: ok=%v err=%v", ok, err)
			}
			if env.ID != res.ID || env.Event != tc.event || !bytes.Equal(env.Data, tc.data) || !env.AcceptedAt.Equal(accepted) {
				t.Fatalf("decoded %+v, want id %s event %q data %q at %v", env, res.ID, tc.event, tc.data, accepted)
			}
			page := history(t, b, tc.topic, streamid.Zero, streamid.Zero, 10)
			if len(page.Entries) != 1 || page.Lost || page.Last != res.ID {
				t.Fatalf("history %+v, want the one event %s", page, res.ID)
			}
			e := page.Entries[0]
			if e.ID != res.ID || e.Event != tc.event || !bytes.Equal(e.Data, tc.data) || !e.AcceptedAt.Equal(accepted) {
				t.Fatalf("history entry %+v does not match the publish", e)
			}
		})
	}
}

// TestHistoryPaging reads a topic in pages and with an upper bound.
func TestHistoryPaging(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	ids := publishN(t, b, "paged", 25)
	tests := []struct {
		name         string
		after, until streamid.ID
		limit        int
		want         []streamid.ID
	}{
		{"first page", streamid.Zero, streamid.Zero, 10, ids[:10]},
		{"second page", ids[9], streamid.Zero, 10, ids[10:20]},
		{"short last page", ids[19], streamid.Zero, 10, ids[20:]},
		{"at the end", ids[24], streamid.Zero, 10, nil},
		{"bounded above (inclusive)", ids[4], ids[9], 100, ids[5:10]},
		{"limit zero reads nothing", streamid.Zero, streamid.Zero, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := history(t, b, "paged", tc.after, tc.until, tc.limit)
			if p.Lost || p.Last != ids[24] {
				t.Fatalf("page lost=%v last=%s, want not lost, last %s", p.Lost, p.Last, ids[24])
			}
			if len(p.Entries) != len(tc.want) {
				t.Fatalf("got %d entries, want %d", len(p.Entries), len(tc.want))
			}
			for i, e := range p.Entries {
				if e.ID != tc.want[i] || string(e.Data) != strconv.Itoa(indexOf(ids, e.ID)) {
					t.Fatalf("entry %d = %s %q, want %s", i, e.ID, e.Data, tc.want[i])
				}
			}
		})
	}
}

func indexOf(ids []streamid.ID, id streamid.ID) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// TestHistoryNext: a page says the lowest ID a publish could get now: the
// server's clock, or the successor of the newest ID when that is ahead of
// the clock; for a missing stream, the clock.
func TestHistoryNext(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	before := srv.Millis(t)
	missing := history(t, b, "next:none", streamid.Zero, streamid.Zero, 10)
	if missing.Next.Ms < before || missing.Next.Ms > srv.Millis(t) {
		t.Fatalf("Next of a missing stream = %v, want the clock (%d ms or later)", missing.Next, before)
	}
	ahead := streamid.ID{Ms: before + 3_600_000, Seq: 7}
	srv.Do(t, "XADD", redisbroker.StreamKey("next:ahead"), ahead.String(), "d", "x")
	if p := history(t, b, "next:ahead", streamid.Zero, streamid.Zero, 10); p.Next != ahead.Next() {
		t.Fatalf("Next after an ID ahead of the clock = %v, want %v", p.Next, ahead.Next())
	}
	id := publishN(t, b, "next:now", 1)[0]
	p := history(t, b, "next:now", streamid.Zero, streamid.Zero, 10)
	// A new history's first ID is one millisecond ahead of the clock (the
	// publish script starts it after any lost one's IDs), so Next may be too.
	if !id.Less(p.Next) || p.Next.Ms > srv.Millis(t)+1 {
		t.Fatalf("Next after %v = %v, want after it and at most 1 ms ahead of the clock", id, p.Next)
	}
}

// TestHistoryLost covers every way a position stops being resumable, on a
// server with small stream nodes so approximate trimming bites early.
func TestHistoryLost(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--stream-node-max-entries", "10"))
	tests := []struct {
		name string
		hist broker.HistoryConfig
		// setup publishes to topic and returns the position to resume from
		// and the IDs that must still be readable after it (nil: lost).
		setup  func(t *testing.T, b *redisbroker.Broker, topic string) (after streamid.ID, rest []streamid.ID)
		reason string
	}{
		{
			name: "trimmed by MAXLEN", hist: broker.HistoryConfig{MaxLen: 20}, reason: "trimmed",
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				ids := publishN(t, b, topic, 200)
				if n, _ := strconv.Atoi(srv.Do(t, "XLEN", redisbroker.StreamKey(topic))); n >= 200 || n < 20 {
					t.Fatalf("XLEN = %d: want trimmed to about 20", n)
				}
				return ids[3], nil
			},
		},
		{
			name: "retained tail after MAXLEN", hist: broker.HistoryConfig{MaxLen: 20},
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				ids := publishN(t, b, topic, 200)
				return ids[189], ids[190:]
			},
		},
		{
			name: "zero position after MAXLEN", hist: broker.HistoryConfig{MaxLen: 20}, reason: "trimmed",
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				publishN(t, b, topic, 200)
				return streamid.Zero, nil
			},
		},
		{
			name: "trimmed by max age (MINID)", hist: broker.HistoryConfig{MaxAge: 100 * time.Millisecond}, reason: "trimmed",
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				ids := publishN(t, b, topic, 30)
				// A publisher clock two hours ahead must not trim the event
				// it just added: age is measured on Redis's clock.
				late := publish(t, b, broker.PublishRequest{Topic: topic, Data: []byte("late"), AcceptedAt: time.Now().Add(2 * time.Hour)})
				if got := srv.DoSlice(t, "XRANGE", redisbroker.StreamKey(topic), late.ID.String(), late.ID.String()); len(got) == 0 {
					t.Fatalf("the event %s was trimmed by its own publish", late.ID)
				}
				// Keep publishing until the early events are older than
				// MaxAge on Redis's clock and a publish trims them.
				eventually(t, "early events aged out", func() bool {
					publish(t, b, broker.PublishRequest{Topic: topic, Data: []byte("probe")})
					return history(t, b, topic, ids[5], streamid.Zero, 0).Lost
				})
				return ids[5], nil
			},
		},
		{
			name: "unknown stream", reason: "unknown_stream",
			setup: func(*testing.T, *redisbroker.Broker, string) (streamid.ID, []streamid.ID) {
				return streamid.ID{Ms: 1, Seq: 0}, nil
			},
		},
		{
			name: "unknown stream, zero position",
			setup: func(*testing.T, *redisbroker.Broker, string) (streamid.ID, []streamid.ID) {
				return streamid.Zero, []streamid.ID{}
			},
		},
		{
			name: "position ahead of the stream", reason: "unknown_stream",
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				ids := publishN(t, b, topic, 3)
				return ids[2].Next(), nil
			},
		},
		{
			name: "recreated stream", reason: "unknown_stream",
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				ids := publishN(t, b, topic, 3)
				srv.Do(t, "DEL", redisbroker.StreamKey(topic))
				// IDs are Redis's clock: a stream recreated within the same
				// millisecond reuses IDs and cannot be told apart.
				eventually(t, "Redis clock past the old IDs", func() bool { return srv.Millis(t) > ids[2].Ms })
				publishN(t, b, topic, 2)
				return ids[1], nil
			},
		},
		{
			// A Redis that lost its data and whose clock is behind the old
			// IDs (a failover to a host with a slower clock) recreates the
			// stream around the client's position.
			name: "recreated stream around the position", reason: "unknown_stream",
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				ids := publishN(t, b, topic, 3)
				key := redisbroker.StreamKey(topic)
				srv.Do(t, "DEL", key)
				srv.Do(t, "XADD", key, streamid.ID{Ms: ids[0].Ms - 1}.String(), "d", "before")
				srv.Do(t, "XADD", key, streamid.ID{Ms: ids[2].Ms + 1}.String(), "d", "after")
				return ids[1], nil
			},
		},
		{
			name: "position deleted with XDEL",
			setup: func(t *testing.T, b *redisbroker.Broker, topic string) (streamid.ID, []streamid.ID) {
				ids := publishN(t, b, topic, 3)
				srv.Do(t, "XDEL", redisbroker.StreamKey(topic), ids[1].String())
				return ids[1], ids[2:]
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t, srv, tc.hist)
			topic := fmt.Sprintf("lost%d", i)
			after, rest := tc.setup(t, b, topic)
			p := history(t, b, topic, after, streamid.Zero, 1000)
			if tc.reason != "" {
				if !p.Lost || p.Reason != tc.reason || len(p.Entries) != 0 {
					t.Fatalf("page lost=%v reason=%q entries=%d, want lost %q", p.Lost, p.Reason, len(p.Entries), tc.reason)
				}
				return
			}
			if p.Lost {
				t.Fatalf("page lost (%s), want entries", p.Reason)
			}
			if len(p.Entries) != len(rest) {
				t.Fatalf("got %d entries, want %d", len(p.Entries), len(rest))
			}
			for i, e := range p.Entries {
				if e.ID != rest[i] {
					t.Fatalf("entry %d = %s, want %s", i, e.ID, rest[i])
				}
			}
		})
	}
}

// TestLast reports the newest ID, also after trimming, and Zero for a topic
// without history.
func TestLast(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{MaxLen: 5})
	if got, err := b.Last(ctxT(t), "none"); err != nil || !got.IsZero() {
		t.Fatalf("Last(none) = %s, %v; want 0-0", got, err)
	}
	ids := publishN(t, b, "some", 300)
	if got, err := b.Last(ctxT(t), "some"); err != nil || got != ids[299] {
		t.Fatalf("Last(some) = %s, %v; want %s", got, err, ids[299])
	}
}

// TestSubscribeWaitsForConfirmation proves Subscribe returns only once
// Redis counts the subscription: a PUBLISH right after it is delivered.
func TestSubscribeWaitsForConfirmation(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	s := run(t, b)
	topics := []string{"confirm:a", "confirm:b"}
	for round := range 3 { // subscribe, unsubscribe and subscribe again
		if err := b.Subscribe(ctxT(t), topics); err != nil {
			t.Fatalf("round %d: Subscribe: %v", round, err)
		}
		for _, topic := range topics {
			if n := srv.NumSub(t, topic); n != 1 {
				t.Fatalf("round %d: NUMSUB %s = %d right after Subscribe, want 1", round, topic, n)
			}
			if got := srv.Do(t, "PUBLISH", topic, "raw"); got != "1" {
				t.Fatalf("round %d: PUBLISH %s reached %s subscribers, want 1", round, topic, got)
			}
			if r := s.next(t, wait); r.resub || r.topic != topic || string(r.payload) != "raw" {
				t.Fatalf("round %d: sink got %+v, want raw message on %s", round, r, topic)
			}
		}
		b.Unsubscribe(topics)
		for _, topic := range topics {
			eventually(t, "unsubscribed "+topic, func() bool { return srv.NumSub(t, topic) == 0 })
		}
	}
}

// TestHealthyFollowsRedis checks Healthy, Ping, Publish and Subscribe
// across a Redis crash and restart, and that the topic comes back with a
// Resubscribed call (its messages during the outage are missing).
func TestHealthyFollowsRedis(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	s := run(t, b)
	eventually(t, "healthy at start", b.Healthy)
	if err := b.Subscribe(ctxT(t), []string{"h"}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}

	srv.Stop(t)
	eventually(t, "unhealthy after Stop", func() bool { return !b.Healthy() })
	if err := b.Ping(ctxT(t)); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Ping with Redis down = %v, want ErrUnavailable", err)
	}
	if _, err := b.Publish(ctxT(t), broker.PublishRequest{Topic: "h", Data: []byte("1"), AcceptedAt: time.Now()}); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Publish with Redis down = %v, want ErrUnavailable", err)
	}
	if _, err := b.History(ctxT(t), "h", streamid.Zero, streamid.Zero, 1); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("History with Redis down = %v, want ErrUnavailable", err)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := b.Subscribe(short, []string{"new-while-down"}); !errors.Is(err, broker.ErrUnavailable) {
		t.Fatalf("Subscribe with Redis down = %v, want ErrUnavailable", err)
	}
	b.Unsubscribe([]string{"new-while-down"})

	srv.Restart(t)
	eventually(t, "healthy after Restart", b.Healthy)
	if r := s.next(t, wait); !r.resub || r.topic != "h" {
		t.Fatalf("sink got %+v, want Resubscribed(h)", r)
	}
	eventually(t, "resubscribed on the server", func() bool { return srv.NumSub(t, "h") == 1 })
	if err := b.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping after Restart: %v", err)
	}
	// A command connection that has not been used since the restart finds
	// out on its first write (EOF): that publish is refused as unavailable
	// (503 + Retry-After for the caller), never half-done, and the retry
	// works. The idempotency key makes the retry safe, as it is for callers.
	var res broker.PublishResult
	for try := 0; ; try++ {
		var err error
		res, err = b.Publish(ctxT(t), broker.PublishRequest{Topic: "h", Data: []byte("back"), AcceptedAt: time.Now(), IdempotencyKey: "back", Fingerprint: "back"})
		if err == nil {
			break
		}
		if !errors.Is(err, broker.ErrUnavailable) || try == 5 {
			t.Fatalf("Publish after Restart (try %d) = %v, want success or ErrUnavailable then success", try, err)
		}
	}
	if r := s.next(t, wait); r.resub || r.topic != "h" || !bytes.HasSuffix(r.payload, []byte("\nback")) {
		t.Fatalf("sink got %+v, want the event %s", r, res.ID)
	}
}

// TestResubscribedAfterClientKill kills the subscription connection
// repeatedly and expects a Resubscribed call per topic per kill, each
// before any message that follows it.
func TestResubscribedAfterClientKill(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{})
	s := run(t, b)
	topics := []string{"kill:a", "kill:b"}
	if err := b.Subscribe(ctxT(t), topics); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	for round := range 3 {
		if got := srv.Do(t, "CLIENT", "KILL", "TYPE", "pubsub"); got != "1" {
			t.Fatalf("round %d: CLIENT KILL TYPE pubsub killed %s connections, want 1", round, got)
		}
		seen := map[string]bool{}
		for len(seen) < len(topics) {
			r := s.next(t, wait)
			if !r.resub {
				t.Fatalf("round %d: message %q on %s before Resubscribed", round, r.payload, r.topic)
			}
			if seen[r.topic] {
				t.Fatalf("round %d: Resubscribed(%s) twice", round, r.topic)
			}
			seen[r.topic] = true
		}
		for _, topic := range topics {
			payload := fmt.Sprintf("after kill %d", round)
			if got := srv.Do(t, "PUBLISH", topic, payload); got != "1" {
				t.Fatalf("round %d: PUBLISH %s reached %s subscribers, want 1", round, topic, got)
			}
			if r := s.next(t, wait); r.resub || r.topic != topic || string(r.payload) != payload {
				t.Fatalf("round %d: sink got %+v, want %q on %s", round, r, payload, topic)
			}
		}
	}
}

// TestIdempotency checks a keyed retry, a conflicting reuse and the key's
// expiry after its TTL.
func TestIdempotency(t *testing.T) {
	srv := redistest.Start(t)
	b := newBroker(t, srv, broker.HistoryConfig{IdempotencyTTL: 3 * time.Second})
	req := broker.PublishRequest{Topic: "idem", Data: []byte(`{"a":1}`), IdempotencyKey: "k-1", Fingerprint: "fp-1"}
	first := publish(t, b, req)
	if first.Replayed {
		t.Fatal("first publish reported as replayed")
	}
	again := publish(t, b, req)
	if !again.Replayed || again.ID != first.ID || again.Receivers != first.Receivers {
		t.Fatalf("retry = %+v, want a replay of %+v", again, first)
	}
	if n := srv.Do(t, "XLEN", redisbroker.StreamKey("idem")); n != "1" {
		t.Fatalf("XLEN after a retry = %s, want 1", n)
	}
	conflict := req
	conflict.Fingerprint = "fp-2"
	if _, err := b.Publish(ctxT(t), conflict); !errors.Is(err, broker.ErrIdempotencyConflict) {
		t.Fatalf("reused key with another body: %v, want ErrIdempotencyConflict", err)
	}
	key := redisbroker.IdempotencyKey("idem", "k-1")
	if ttl, _ := strconv.Atoi(srv.Do(t, "PTTL", key)); ttl <= 0 || ttl > 3000 {
		t.Fatalf("PTTL %s = %d ms, want within the 3 s TTL", key, ttl)
	}
	eventually(t, "idempotency key expired", func() bool { return srv.Do(t, "EXISTS", key) == "0" })
	later := publish(t, b, req)
	if later.Replayed || later.ID == first.ID {
		t.Fatalf("publish after the TTL = %+v, want a new event", later)
	}
	if n := srv.Do(t, "XLEN", redisbroker.StreamKey("idem")); n != "2" {
		t.Fatalf("XLEN after expiry = %s, want 2", n)
	}
}

// TestClientOption checks URL parsing, cluster seed lists and the settings
// ssegate forces on every client.
func TestClientOption(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, master string
		wantAddrs         []string
		wantDB            int
		wantUser, wantPwd string
		wantErr           bool
	}{
		{name: "single", url: "redis://127.0.0.1:6379/0", wantAddrs: []string{"127.0.0.1:6379"}},
		{name: "db and credentials", url: "redis://u:p@127.0.0.1:6380/3", wantAddrs: []string{"127.0.0.1:6380"}, wantDB: 3, wantUser: "u", wantPwd: "p"},
		{name: "cluster seeds", url: "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002",
			wantAddrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}},
		{name: "sentinels", url: "redis://127.0.0.1:26379?addr=127.0.0.1:26380", master: "mymaster",
			wantAddrs: []string{"127.0.0.1:26379", "127.0.0.1:26380"}},
		{name: "wrong scheme", url: "http://127.0.0.1:6379", wantErr: true},
		{name: "bad db", url: "redis://127.0.0.1:6379/x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			co, err := redisbroker.ClientOption(tc.url, tc.master)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ClientOption(%q) succeeded, want an error", tc.url)
				}
				return
			}
			if err != nil {
				t.Fatalf("ClientOption(%q): %v", tc.url, err)
			}
			if fmt.Sprint(co.InitAddress) != fmt.Sprint(tc.wantAddrs) {
				t.Errorf("InitAddress = %v, want %v", co.InitAddress, tc.wantAddrs)
			}
			if co.SelectDB != tc.wantDB || co.Username != tc.wantUser || co.Password != tc.wantPwd {
				t.Errorf("db/user/password = %d/%q/%q, want %d/%q/%q", co.SelectDB, co.Username, co.Password, tc.wantDB, tc.wantUser, tc.wantPwd)
			}
			if co.Sentinel.MasterSet != tc.master {
				t.Errorf("Sentinel.MasterSet = %q, want %q", co.Sentinel.MasterSet, tc.master)
			}
			if !co.DisableCache || co.ConnWriteTimeout != 3*time.Second || co.Dialer.Timeout != 2*time.Second {
				t.Errorf("DisableCache=%v ConnWriteTimeout=%v Dialer.Timeout=%v, want true 3s 2s", co.DisableCache, co.ConnWriteTimeout, co.Dialer.Timeout)
			}
		})
	}
}
