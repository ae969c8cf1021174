package gateway

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/streamid"
)

// captureWriter is a writer that keeps what a resume writes.
type captureWriter struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (w *captureWriter) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(b)
	return nil
}

func (w *captureWriter) serve(context.Context, *conn, []byte) (string, bool) { return "", false }
func (w *captureWriter) close()                                              {}

// windowOn is a test configuration with the window on.
func windowOn(events int) Config {
	return Config{WindowEvents: events, WindowBytes: 1 << 20, WindowTotalBytes: 64 << 20}
}

// resumeBytes is what s writes to a client of topics resuming from last,
// replaying up to snap.
func resumeBytes(t *testing.T, s *Server, topics []string, snap []streamid.ID, last string) string {
	t.Helper()
	w := &captureWriter{}
	_, _, buf, err := s.resume(context.Background(), w, []byte("retry: 1000\n\n"), topics, snap, last)
	if err != nil {
		t.Fatalf("resume from %q: %v", last, err)
	}
	if len(buf) != 0 {
		t.Fatalf("resume left %d bytes unwritten", len(buf))
	}
	return w.out.String()
}

// windowRig is a running gateway with the window on, and a second one on
// the same broker with the window off that is never run: its resumes
// read every event from the broker (the path every resume took before).
type windowRig struct {
	on     *testServer
	off    *Server
	topics []string
	snap   []streamid.ID
	ids    map[string][]streamid.ID // per topic, published IDs in order
}

// rigBroker is a broker the test also publishes with (membroker, redisbroker).
type rigBroker interface {
	Broker
	Publish(ctx context.Context, req broker.PublishRequest) (broker.PublishResult, error)
}

// startWindowRig publishes before events per topic, starts a gateway on b
// (mb, or a wrapper of it) that subscribes topics, publishes after more
// and joins a connection once the gateway has them all: its snapshot ends
// the resumes.
func startWindowRig(t *testing.T, b Broker, mb rigBroker, cfg Config, topics []string, before, after int) *windowRig {
	t.Helper()
	r := &windowRig{topics: topics, ids: map[string][]streamid.ID{}}
	pub := func(n int) {
		for i := range n {
			for _, name := range topics {
				res, err := mb.Publish(context.Background(), broker.PublishRequest{Topic: name, Event: "ev", Data: fmt.Appendf(nil, "%s line %d\nsecond line", name, i)})
				if err != nil {
					t.Fatal(err)
				}
				r.ids[name] = append(r.ids[name], res.ID)
			}
		}
	}
	pub(before) // in history before the topic is subscribed: seeds the window
	r.on = startTestServer(t, b, cfg)
	r.off = New(mb, Config{Registry: prometheus.NewRegistry()})
	if err := r.on.feed.acquire(context.Background(), topics); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.on.feed.release(topics) })
	pub(after) // live: appended to the window
	for _, name := range topics {
		want := r.ids[name][len(r.ids[name])-1]
		waitFor(t, 10*time.Second, "the gateway has every event", func() bool {
			last, _ := r.on.hub.lastID(name)
			return last == want
		})
	}
	cn := newConn("probe", topics, 16, func(int) {})
	r.snap = r.on.hub.join(cn)
	t.Cleanup(func() { r.on.hub.leave(cn) })
	return r
}

// TestWindowResumeMatchesRedis: a resume served from the window writes the
// same bytes as one read from history, for every position of a single- and
// a multi-topic stream, and issues no history read.
func TestWindowResumeMatchesRedis(t *testing.T) {
	t.Parallel()
	for _, topics := range [][]string{{"a"}, {"a", "b"}} {
		t.Run(strings.Join(topics, "+"), func(t *testing.T) {
			t.Parallel()
			mb := membroker.New(broker.HistoryConfig{})
			r := startWindowRig(t, mb, mb, windowOn(100), topics, 5, 5)
			ids := r.ids[topics[0]]
			for i := range ids {
				pos := make([]streamid.ID, len(topics))
				for j, name := range topics {
					pos[j] = r.ids[name][i]
				}
				last := streamid.Position(pos).String()
				want := resumeBytes(t, r.off, topics, r.snap, last)
				if got := resumeBytes(t, r.on.Server, topics, r.snap, last); got != want {
					t.Fatalf("from %s:\nwindow %q\nredis  %q", last, got, want)
				}
				if i < len(ids)-1 && !strings.Contains(want, "data: ") {
					t.Fatalf("from %s: nothing replayed: %q", last, want)
				}
			}
			if reads := metricValue(r.on.metrics.ReplayReads); reads != 0 {
				t.Fatalf("window resumes issued %v history reads, want 0", reads)
			}
			if hits := metricValue(r.on.metrics.WindowHits); hits == 0 {
				t.Fatal("no resume was served from the window")
			}
		})
	}
}

// TestWindowResumeMatchesRedisServer is TestWindowResumeMatchesRedis on
// a real Redis: the window seeded by Recent (XREVRANGE) and filled from
// pub/sub writes what the history script's pages write.
func TestWindowResumeMatchesRedisServer(t *testing.T) {
	t.Parallel()
	rd := redistest.Start(t)
	for _, topics := range [][]string{{"r1"}, {"r2a", "r2b"}} {
		t.Run(strings.Join(topics, "+"), func(t *testing.T) {
			rb, err := redisbroker.New(redisbroker.Options{URL: rd.URL()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rb.Close)
			r := startWindowRig(t, rb, rb, windowOn(100), topics, 4, 4)
			for i := range r.ids[topics[0]] {
				pos := make([]streamid.ID, len(topics))
				for j, name := range topics {
					pos[j] = r.ids[name][i]
				}
				last := streamid.Position(pos).String()
				want := resumeBytes(t, r.off, topics, r.snap, last)
				if got := resumeBytes(t, r.on.Server, topics, r.snap, last); got != want {
					t.Fatalf("from %s:\nwindow %q\nredis  %q", last, got, want)
				}
			}
			if reads, hits := metricValue(r.on.metrics.ReplayReads), metricValue(r.on.metrics.WindowHits); reads != 0 || hits == 0 {
				t.Fatalf("window gateway: %v history reads, %v window hits; want 0 and some", reads, hits)
			}
		})
	}
}

// TestWindowTooShortFallsBackToRedis: a position older than the window, or
// not one of its events, is resumed from history: the same bytes as
// without a window (every event after it, or the same reset).
func TestWindowTooShortFallsBackToRedis(t *testing.T) {
	t.Parallel()
	mb := membroker.New(broker.HistoryConfig{})
	r := startWindowRig(t, mb, mb, windowOn(4), []string{"a"}, 3, 12)
	ids := r.ids["a"]
	notAnEvent := streamid.ID{Ms: ids[10].Ms, Seq: ids[10].Seq + 1}
	if notAnEvent == ids[11] {
		notAnEvent = streamid.ID{Ms: ids[10].Ms - 1, Seq: 999}
	}
	for _, last := range []string{ids[0].String(), ids[7].String(), notAnEvent.String()} {
		want := resumeBytes(t, r.off, r.topics, r.snap, last)
		got := resumeBytes(t, r.on.Server, r.topics, r.snap, last)
		if got != want {
			t.Fatalf("from %s:\nwindow rig %q\nredis      %q", last, got, want)
		}
	}
	// From ids[0]: every later event once, in order.
	got := resumeBytes(t, r.on.Server, r.topics, r.snap, ids[0].String())
	var seen []string
	for line := range strings.SplitSeq(got, "\n") {
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			seen = append(seen, v)
		}
	}
	for i, id := range ids[1:] {
		if i >= len(seen) || seen[i] != id.String() {
			t.Fatalf("replayed ids %v, want every id after %s", seen, ids[0])
		}
	}
	if misses := metricValue(r.on.metrics.WindowMisses); misses < 3 {
		t.Fatalf("window misses %v, want at least 3", misses)
	}
}

// TestWindowMemoryBound: 1,000 topics' windows never hold more than the
// process-wide bound, and give every byte back when their topics go.
func TestWindowMemoryBound(t *testing.T) {
	t.Parallel()
	const bound = 256 << 10
	h := newTestHub()
	h.win = windowConfig{events: 1000, bytes: 64 << 10, budget: &windowBudget{max: bound, used: new(atomic.Int64)}}
	data := strings.Repeat("x", 900)
	for i := range 1000 {
		name := fmt.Sprint("t", i)
		openTopic(t, h, name, streamid.Zero)
		for j := range 5 {
			h.message(name, envMsg(sid(uint64(j+1)), data))
			if used := h.win.budget.used.Load(); used > bound {
				t.Fatalf("topic %d event %d: windows hold %d bytes, bound %d", i, j, used, bound)
			}
		}
	}
	var sum int64
	for i := range 1000 {
		t := h.topic(fmt.Sprint("t", i))
		t.mu.Lock()
		sum += t.win.bytes
		t.mu.Unlock()
	}
	if used := h.win.budget.used.Load(); used != sum || used < bound/2 {
		t.Fatalf("budget says %d bytes, windows hold %d (bound %d)", used, sum, bound)
	}
	for i := range 1000 {
		h.remove(fmt.Sprint("t", i))
	}
	if used := h.win.budget.used.Load(); used != 0 {
		t.Fatalf("after every topic left the windows hold %d bytes", used)
	}
}
