package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// TestMain checks for leaked goroutines, except those rueidis' cluster
// client leaves to end by themselves (see redistest.IgnoreClusterClient).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, redistest.IgnoreClusterClient()...)
}

// waitFor bounds every single wait (an event, a condition, a publish
// retried through a failover) in this package.
const waitFor = 30 * time.Second

// topicCount is how many topics the tests publish on.
const topicCount = 50

// env is a cluster with gateways and a publisher on it.
type env struct {
	cluster *redistest.Cluster
	sharded bool
	gws     []*gw
	pub     *harness.Publisher
	hc      *http.Client
	topics  []string
	retries atomic.Int64 // publishes answered 503 and retried
	replays atomic.Int64 // retries answered from the idempotency record
}

// gw is one gateway replica; with a proxy in front, clients connect to the
// proxy, so the replica can vanish for them at once (see hardKill).
type gw struct {
	*harness.Gateway
	proxy *proxy
}

// streamURL is the address clients open for topics.
func (g *gw) streamURL(topics []string) string {
	base := g.URL
	if g.proxy != nil {
		base = "http://" + g.proxy.ln.Addr().String()
	}
	q := url.Values{}
	for _, tp := range topics {
		q.Add("topic", tp)
	}
	return base + "/api/sse/stream?" + q.Encode()
}

// startCluster starts a Redis Cluster of 3 primaries with one replica each.
func startCluster(t *testing.T) *redistest.Cluster {
	t.Helper()
	return redistest.StartCluster(t, 3, 1)
}

// startEnv starts, on cluster c, the given number of gateways (behind
// proxies when proxied) and a publisher, all in sharded or classic pub/sub
// mode, and picks topicCount topics named after prefix that span every
// shard (a fresh prefix per env keeps envs on one cluster apart).
func startEnv(t *testing.T, c *redistest.Cluster, sharded bool, gateways int, proxied bool, prefix string) *env {
	t.Helper()
	e := &env{cluster: c, sharded: sharded}
	pcfg := publisher.ProgramConfig{RedisURL: c.URL(), Sharded: sharded, ShutdownGrace: 5 * time.Second}
	// Short enough that a publish stuck on a dead primary turns into a 503
	// and is retried, long enough for a loaded 2-core machine under -race.
	pcfg.PublishTimeout = 3 * time.Second
	e.pub = harness.StartPublisher(t, pcfg)
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	e.hc = &http.Client{Transport: tr, Timeout: waitFor}
	for range gateways {
		g := &gw{Gateway: harness.StartGateway(t, gateway.ProgramConfig{
			Config: gateway.Config{
				PingInterval: time.Second, SendTimeout: 5 * time.Second, Retry: 100 * time.Millisecond,
				QueueSize: 1 << 14, SubscribeTimeout: 10 * time.Second,
			},
			RedisURL: c.URL(), Sharded: sharded, ShutdownGrace: 5 * time.Second,
		})}
		harness.WaitHTTP(t, g.URL+"/readyz", http.StatusOK)
		if proxied {
			g.proxy = startProxy(t, strings.TrimPrefix(g.URL, "http://"))
		}
		e.gws = append(e.gws, g)
	}
	shards := map[string]int{}
	for i := range topicCount {
		tp := fmt.Sprintf("%s:S-%03d", prefix, i)
		e.topics = append(e.topics, tp)
		shards[c.PrimaryForSlot(t, redistest.Slot(tp)).Addr()]++
	}
	if len(shards) != 3 {
		t.Fatalf("topics span shards %v, want all 3", shards)
	}
	return e
}

// owner returns the primary serving topic now.
func (e *env) owner(t *testing.T, topic string) *redistest.Node {
	t.Helper()
	return e.cluster.PrimaryForSlot(t, redistest.Slot(topic))
}

// entry is one event of a topic's history.
type entry struct{ id, data string }

// history reads topic's whole history stream from its primary (XRANGE).
func (e *env) history(t *testing.T, topic string) []entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	r, err := e.owner(t, topic).Exec(ctx, "XRANGE", redisbroker.StreamKey(topic), "-", "+")
	if err != nil {
		t.Fatalf("XRANGE %s: %v", topic, err)
	}
	out := make([]entry, 0, len(r.Elems))
	for _, el := range r.Elems {
		en := entry{id: el.Elems[0].Str}
		f := el.Elems[1].Elems
		for i := 0; i+1 < len(f); i += 2 {
			if f[i].Str == "d" {
				en.data = f[i+1].Str
			}
		}
		out = append(out, en)
	}
	return out
}

// publishStream publishes n events round-robin over the topics, one after
// another, like a steady producer, from a goroutine that cleanup stops and
// waits for. Each publish carries an Idempotency-Key and is retried on 503
// until it succeeds (bounded by waitFor). reached is closed once at events
// are published (or the producer failed); done receives the producer's
// first error, or nil, when it ends.
func (e *env) publishStream(t *testing.T, n, at int) (reached <-chan struct{}, done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := make(chan struct{})
	d := make(chan error, 1)
	finished := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	go func() {
		defer close(finished)
		var once sync.Once
		defer once.Do(func() { close(r) }) // also on failure, so a waiter never hangs
		for i := range n {
			if err := e.publish(ctx, e.topics[i%len(e.topics)], i); err != nil {
				d <- err
				return
			}
			if i+1 == at {
				once.Do(func() { close(r) })
			}
		}
		d <- nil
	}()
	return r, d
}

// publish sends event i on topic, retrying 503s with the same
// Idempotency-Key as a well-behaved producer does.
func (e *env) publish(ctx context.Context, topic string, i int) error {
	body := fmt.Sprintf(`{"topic":%q,"data":{"topic":%q,"i":%d}}`, topic, topic, i)
	deadline := time.Now().Add(waitFor)
	pause := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.pub.URL+"/v1/events", strings.NewReader(body))
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("event-%d", i))
		resp, err := e.hc.Do(req)
		if err != nil {
			return fmt.Errorf("publish #%d: %w", i, err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("publish #%d: read answer: %w", i, err)
		}
		switch resp.StatusCode {
		case http.StatusAccepted:
			return nil
		case http.StatusOK: // a retry whose first attempt went through after all
			e.replays.Add(1)
			return nil
		case http.StatusServiceUnavailable:
			if resp.Header.Get("Retry-After") == "" {
				return fmt.Errorf("publish #%d: 503 without Retry-After", i)
			}
		default:
			return fmt.Errorf("publish #%d: %d %s", i, resp.StatusCode, raw)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("publish #%d: still 503 after %d attempts: %s", i, attempt, raw)
		}
		e.retries.Add(1)
		// A short pause instead of the suggested Retry-After keeps the test
		// fast; the retry reuses the key, so it never publishes twice.
		timer := time.NewTimer(pause)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("publish #%d: %w", i, ctx.Err())
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// client is one SSE subscriber that remembers every event per topic.
type client struct {
	name   string
	topics []string // sorted: the order of a composite id's positions
	gw     int      // index of the gateway it is connected to
	s      *harness.Stream
	got    map[string][]entry // per topic: (position of the topic, data)
}

// payload is the data every test event carries.
type payload struct {
	Topic string `json:"topic"`
	I     int    `json:"i"`
}

// clients connects 15 clients spread over the gateways: ten with five
// topics each (together every topic) and five with one topic.
func (e *env) clients(t *testing.T) []*client {
	t.Helper()
	var out []*client
	for k := range 10 {
		var topics []string
		for i := k; i < len(e.topics); i += 10 {
			topics = append(topics, e.topics[i])
		}
		out = append(out, e.subscribe(t, fmt.Sprintf("multi-%d", k), topics, k%len(e.gws)))
	}
	for k := range 5 {
		out = append(out, e.subscribe(t, fmt.Sprintf("single-%d", k), []string{e.topics[k*11]}, k%len(e.gws)))
	}
	return out
}

// subscribe connects a client for topics to gateway g.
func (e *env) subscribe(t *testing.T, name string, topics []string, g int) *client {
	t.Helper()
	c := &client{name: name, topics: slices.Sorted(slices.Values(topics)), gw: g, got: map[string][]entry{}}
	c.s = harness.Subscribe(t, e.gws[g].streamURL(c.topics), nil)
	return c
}

// reconnect opens the client's stream again on gateway g, resuming from
// the last event id it saw, as a browser's EventSource does.
func (e *env) reconnect(t *testing.T, c *client, g int) {
	t.Helper()
	last := c.s.LastEventID()
	if last == "" {
		t.Fatalf("%s: no event id to resume from", c.name)
	}
	c.s.Close()
	c.gw = g
	c.s = harness.Subscribe(t, e.gws[g].streamURL(c.topics), http.Header{"Last-Event-Id": {last}})
}

// record files one event under its topic with the topic's position.
func (c *client) record(t *testing.T, ev harness.Event) {
	t.Helper()
	if ev.Name != "message" {
		t.Fatalf("%s: event %q (%s) %s, want only messages", c.name, ev.Name, ev.ID, ev.Data)
	}
	var p payload
	if err := json.Unmarshal([]byte(ev.Data), &p); err != nil {
		t.Fatalf("%s: event data %q: %v", c.name, ev.Data, err)
	}
	idx := slices.Index(c.topics, p.Topic)
	if idx < 0 {
		t.Fatalf("%s: event for %s, not one of %v", c.name, p.Topic, c.topics)
	}
	pos := strings.Split(ev.ID, "_")
	if len(pos) != len(c.topics) {
		t.Fatalf("%s: id %q has %d positions, want %d", c.name, ev.ID, len(pos), len(c.topics))
	}
	c.got[p.Topic] = append(c.got[p.Topic], entry{id: pos[idx], data: ev.Data})
}

// waitEvents reads until the client has at least want[topic] events of
// every topic, failing on a stream that ends or a deadline.
func (c *client) waitEvents(t *testing.T, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for _, tp := range c.topics {
		for len(c.got[tp]) < want[tp] {
			ev, err := c.s.Next(time.Until(deadline))
			if err != nil {
				t.Fatalf("%s: %d of %d events of %s, then: %v", c.name, len(c.got[tp]), want[tp], tp, err)
			}
			c.record(t, ev)
		}
	}
}

// drainToEnd records every event until the stream ends (the gateway went
// away under it).
func (c *client) drainToEnd(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ev, err := c.s.Next(time.Until(deadline))
		switch {
		case err == nil:
			c.record(t, ev)
		case errors.Is(err, harness.ErrTimeout):
			t.Fatalf("%s: stream still open %v after its gateway died", c.name, waitFor)
		default:
			return
		}
	}
}

// verify checks that every client holds exactly the events of each of its
// topics' history stream, in order, with their ids.
func (e *env) verify(t *testing.T, clients []*client) {
	t.Helper()
	want := map[string][]entry{}
	for _, tp := range e.topics {
		want[tp] = e.history(t, tp)
	}
	for _, c := range clients {
		counts := map[string]int{}
		for _, tp := range c.topics {
			counts[tp] = len(want[tp])
		}
		c.waitEvents(t, counts)
		for _, tp := range c.topics {
			if !slices.Equal(c.got[tp], want[tp]) {
				t.Errorf("%s: %s got %d events, history has %d; first difference: %s", c.name, tp, len(c.got[tp]), len(want[tp]), firstDiff(c.got[tp], want[tp]))
			}
		}
	}
}

func firstDiff(got, want []entry) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("missing #%d %v", i, want[i])
		case i >= len(want):
			return fmt.Sprintf("extra #%d %v", i, got[i])
		case got[i] != want[i]:
			return fmt.Sprintf("#%d is %v, want %v", i, got[i], want[i])
		}
	}
	return "none"
}

// proxy forwards TCP connections to a gateway; kill drops them all at
// once with a reset, as if the replica's machine vanished.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	killed bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{ln: harness.Listen(t), target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.kill)
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed by kill
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// track registers a connection pair unless the proxy was killed.
func (p *proxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killed {
		a.Close()
		b.Close()
		return false
	}
	p.conns[a], p.conns[b] = struct{}{}, struct{}{}
	return true
}

// pipe copies src to dst until either side fails, then closes both.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// kill closes the listener and resets every connection, then waits for
// the proxy's goroutines.
func (p *proxy) kill() {
	p.mu.Lock()
	p.killed = true
	p.ln.Close()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST instead of an orderly FIN
		}
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
