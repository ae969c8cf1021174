package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/test/harness"
)

// writePath is one of the two ways the gateway writes a stream.
type writePath struct {
	name    string
	writers int // gateway.Config.Writers
}

// writePaths are the pool of writers behind hijacked HTTP/1.1 connections
// (the default) and one goroutine per stream behind net/http
// (SSEGATE_WRITERS=-1, and every HTTP/2 stream).
func writePaths() []writePath {
	return []writePath{{"pool", 0}, {"goroutine", -1}}
}

// startOnPath runs the gateway with cfg on path.
func startOnPath(t *testing.T, path writePath, cfg gateway.ProgramConfig) *harness.Gateway {
	t.Helper()
	cfg.Writers = path.writers
	return startGateway(t, cfg)
}

// checkPath fails unless resp came from the expected write path: only
// net/http's path says Connection: keep-alive, only the pool writes the
// head itself (without a Date header).
func checkPath(t *testing.T, path writePath, resp *http.Response) {
	t.Helper()
	pooled := resp.Header.Get("Connection") == "" && resp.Header.Get("Date") == ""
	if pooled != (path.writers >= 0) {
		t.Fatalf("response head %v does not come from the %s path", resp.Header, path.name)
	}
}

// subscribeOn opens a stream and checks it is served by path.
func subscribeOn(t *testing.T, path writePath, g *harness.Gateway, query string, h http.Header) *harness.Stream {
	t.Helper()
	s := harness.Subscribe(t, streamURL(g, query), h)
	checkPath(t, path, s.Resp)
	return s
}

func TestPathsDeliveryInOrder(t *testing.T) {
	t.Parallel()
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			const events = 1000
			g := startOnPath(t, path, gateway.ProgramConfig{})
			s := subscribeOn(t, path, g, "topic=order", nil)
			ids := make([]string, events)
			for i := range events {
				ids[i] = publish(t, g, "order", strconv.Itoa(i))
			}
			for i := range events {
				expectEvent(t, s, "message", ids[i], strconv.Itoa(i))
			}
			// The writer counts a write after it returns, which can be
			// after the client has read it.
			delivered := g.Program.Server().Metrics().Delivered
			waitFor(t, 5*time.Second, "events_delivered_total to count every event", func() bool {
				return metricValue(delivered) >= events
			})
		})
	}
}

func TestPathsMultiTopicCompositeIDs(t *testing.T) {
	t.Parallel()
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			g := startOnPath(t, path, gateway.ProgramConfig{})
			// Given out of order and repeated: ids follow the sorted, unique list.
			s := subscribeOn(t, path, g, "topic=mb&topic=ma&topic=mb", nil)
			a1 := publish(t, g, "ma", "a1")
			expectEvent(t, s, "message", a1+"_0-0", "a1")
			b1 := publish(t, g, "mb", "b1")
			expectEvent(t, s, "message", a1+"_"+b1, "b1")
			a2 := publish(t, g, "ma", "a2")
			expectEvent(t, s, "message", a2+"_"+b1, "a2")
			publish(t, g, "mc", "not subscribed")
			b2 := publish(t, g, "mb", "b2")
			expectEvent(t, s, "message", a2+"_"+b2, "b2")
		})
	}
}

func TestPathsResume(t *testing.T) {
	t.Parallel()
	// 1 KiB events: the replay is several writes (it flushes every 32 KiB).
	payload := func(i int) string { return fmt.Sprintf("%04d", i) + strings.Repeat("r", 1020) }
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			g := startOnPath(t, path, gateway.ProgramConfig{})
			t.Run("single topic", func(t *testing.T) {
				t.Parallel()
				var ids []string
				for i := range 200 {
					ids = append(ids, publish(t, g, "resume", payload(i)))
				}
				s := subscribeOn(t, path, g, "topic=resume", http.Header{"Last-Event-Id": {ids[9]}})
				for i := 10; i < 200; i++ {
					expectEvent(t, s, "message", ids[i], payload(i))
				}
				for i := 200; i < 205; i++ { // then live, nothing repeated
					id := publish(t, g, "resume", payload(i))
					expectEvent(t, s, "message", id, payload(i))
				}
			})
			t.Run("multi topic", func(t *testing.T) {
				t.Parallel()
				s := subscribeOn(t, path, g, "topic=ra&topic=rb", nil)
				a1 := publish(t, g, "ra", "a1")
				expectEvent(t, s, "message", a1+"_0-0", "a1")
				b1 := publish(t, g, "rb", "b1")
				expectEvent(t, s, "message", a1+"_"+b1, "b1")
				last := s.LastEventID()
				s.Close()
				a2 := publish(t, g, "ra", "a2")
				b2 := publish(t, g, "rb", "b2")
				a3 := publish(t, g, "ra", "a3")
				s2 := subscribeOn(t, path, g, "topic=rb&topic=ra", http.Header{"Last-Event-Id": {last}})
				// Replay goes topic by topic; every id is a valid resume point.
				expectEvent(t, s2, "message", a2+"_"+b1, "a2")
				expectEvent(t, s2, "message", a3+"_"+b1, "a3")
				expectEvent(t, s2, "message", a3+"_"+b2, "b2")
				b3 := publish(t, g, "rb", "b3")
				expectEvent(t, s2, "message", a3+"_"+b3, "b3")
			})
		})
	}
}

func TestPathsKeepalive(t *testing.T) {
	t.Parallel()
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			g := startOnPath(t, path, gateway.ProgramConfig{Config: gateway.Config{PingInterval: 50 * time.Millisecond}})
			s := subscribeOn(t, path, g, "", nil)
			for _, want := range []string{"ok", "ping", "ping"} {
				c, err := s.Comment(5 * time.Second)
				if err != nil || c != want {
					t.Fatalf("comment %q (%v), want %q", c, err, want)
				}
			}
			// Pings do not disturb events.
			id := publish(t, g, "spools:updates", "after pings")
			expectEvent(t, s, "message", id, "after pings")
		})
	}
}

// TestPathsSendTimeout: a client that stops reading is evicted after the
// send timeout on both paths, and the others are unaffected.
func TestPathsSendTimeout(t *testing.T) {
	t.Parallel()
	const sendTimeout = 200 * time.Millisecond
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			g := startOnPath(t, path, gateway.ProgramConfig{
				Config:  gateway.Config{SendTimeout: sendTimeout, QueueSize: 1 << 16},
				History: broker.HistoryConfig{MaxLen: 100},
			})
			m := g.Program.Server().Metrics()
			evicted := m.Evicted.WithLabelValues("send_timeout")
			good := subscribeOn(t, path, g, "", nil)
			slow := dialRaw(t, g.URL, "/api/sse/stream", false) // reads the head, then nothing
			checkPath(t, path, slow.resp)
			waitFor(t, 5*time.Second, "both streams registered", func() bool { return g.Program.Server().Connections() == 2 })
			// 16 MiB: four times what the socket buffers can take, so the
			// slow client's writer blocks for good; then publishing stops.
			n := publishPaced(t, g, good, 512, func() bool { return metricValue(evicted) > 0 })
			stopped := time.Now()
			waitFor(t, 10*time.Second, "send-timeout eviction", func() bool { return metricValue(evicted) == 1 })
			// The blocked write started at the latest when publishing
			// stopped, so the eviction follows within about one send timeout.
			if took := time.Since(stopped); took > sendTimeout+2*time.Second {
				t.Fatalf("evicted %v after the last publish; send timeout is %v", took, sendTimeout)
			}
			waitFor(t, 10*time.Second, "closed{send_timeout}", func() bool {
				return metricValue(m.ConnectionsClosed.WithLabelValues("send_timeout")) == 1 &&
					g.Program.Server().Connections() == 1
			})
			expectStreamEnded(t, slow)
			t.Logf("published %d events of %d KiB before the eviction", n, len(bigEvent)>>10)
			id := publish(t, g, "spools:updates", "after")
			expectEvent(t, good, "message", id, "after")
			if got := metricValue(m.Evicted.WithLabelValues("queue_full")); got != 0 {
				t.Fatalf("evicted{queue_full} = %v, want 0", got)
			}
		})
	}
}

// TestPathsQueueFull: a client whose queue overflows is evicted at once
// (its blocked write is aborted), long before the send timeout.
func TestPathsQueueFull(t *testing.T) {
	t.Parallel()
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			g := startOnPath(t, path, gateway.ProgramConfig{
				Config:  gateway.Config{SendTimeout: time.Minute, QueueSize: 4},
				History: broker.HistoryConfig{MaxLen: 100},
			})
			m := g.Program.Server().Metrics()
			good := subscribeOn(t, path, g, "", nil)
			slow := dialRaw(t, g.URL, "/api/sse/stream", false)
			checkPath(t, path, slow.resp)
			waitFor(t, 5*time.Second, "both streams registered", func() bool { return g.Program.Server().Connections() == 2 })
			publishPaced(t, g, good, 1024, func() bool { return metricValue(m.QueueDropped) > 0 })
			if metricValue(m.QueueDropped) == 0 {
				t.Fatal("the slow client's queue never overflowed")
			}
			waitFor(t, 10*time.Second, "queue-full eviction", func() bool {
				return metricValue(m.Evicted.WithLabelValues("queue_full")) == 1 &&
					metricValue(m.ConnectionsClosed.WithLabelValues("slow")) == 1 &&
					g.Program.Server().Connections() == 1
			})
			expectStreamEnded(t, slow)
			if got := metricValue(m.Evicted.WithLabelValues("send_timeout")); got != 0 {
				t.Fatalf("evicted{send_timeout} = %v, want 0", got)
			}
			id := publish(t, g, "spools:updates", "after")
			expectEvent(t, good, "message", id, "after")
		})
	}
}

func TestPathsDisconnectFreesEverything(t *testing.T) {
	t.Parallel()
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			g := startOnPath(t, path, gateway.ProgramConfig{})
			srv := g.Program.Server()
			m := srv.Metrics()
			queries := []string{"topic=x", "topic=x&topic=y", ""}
			var streams []*harness.Stream
			for _, q := range queries {
				streams = append(streams, subscribeOn(t, path, g, q, nil))
			}
			waitFor(t, 5*time.Second, "streams registered", func() bool { return srv.Connections() == len(queries) })
			if got := metricValue(m.Topics); got != 3 {
				t.Fatalf("topics gauge %v, want 3", got)
			}
			for _, s := range streams {
				s.Close()
			}
			waitFor(t, 5*time.Second, "everything freed", func() bool {
				return srv.Connections() == 0 && metricValue(m.Connections) == 0 && metricValue(m.Topics) == 0
			})
			if got := metricValue(m.ConnectionsClosed.WithLabelValues("normal")); got != float64(len(queries)) {
				t.Fatalf("closed{normal} = %v, want %d", got, len(queries))
			}
			// The topics gauge drops just before the broker unsubscribes.
			for _, topic := range []string{"x", "y", "spools:updates"} {
				waitFor(t, 5*time.Second, "topic "+topic+" unsubscribed", func() bool {
					return g.Program.Embedded().PublishRaw(topic, []byte("probe")) == 0
				})
			}
		})
	}
}

// TestPathsGracefulShutdown: every stream gets a retry hint and the
// shutdown event, and its response ends cleanly: the last chunk of the
// chunked body, not a cut connection.
func TestPathsGracefulShutdown(t *testing.T) {
	t.Parallel()
	const streams = 5
	const tail = "retry: 1500\nevent: shutdown\ndata: {\"reason\":\"shutdown\"}\n\n"
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			g := startOnPath(t, path, gateway.ProgramConfig{
				Config: gateway.Config{DrainWindow: 100 * time.Millisecond, Retry: 1500 * time.Millisecond},
			})
			var raws []*rawStream
			for range streams {
				raws = append(raws, dialRaw(t, g.URL, "/api/sse/stream", true))
			}
			waitFor(t, 5*time.Second, "streams registered", func() bool { return g.Program.Server().Connections() == streams })
			id := publish(t, g, "spools:updates", "before shutdown")
			type result struct {
				raw []byte
				err error
			}
			results := make(chan result, streams)
			for _, rs := range raws {
				go func() {
					_ = rs.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
					b, err := io.ReadAll(rs.br)
					results <- result{b, err}
				}()
			}
			if err := g.Stop(t); err != nil {
				t.Fatalf("Run returned %v", err)
			}
			for range streams {
				r := <-results
				if r.err != nil {
					t.Fatalf("reading the stream: %v (got %q)", r.err, r.raw)
				}
				resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(r.raw)), nil)
				if err != nil {
					t.Fatalf("response %q: %v", r.raw, err)
				}
				checkPath(t, path, resp)
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("body of %q: %v", r.raw, err)
				}
				if !strings.HasPrefix(string(body), "retry: 1500\n: ok\n\n") ||
					!strings.Contains(string(body), "id: "+id+"\ndata: before shutdown\n\n") ||
					!strings.HasSuffix(string(body), tail) {
					t.Fatalf("body %q: want the preamble, the event and the shutdown tail", body)
				}
				if !bytes.HasSuffix(r.raw, []byte("\r\n0\r\n\r\n")) {
					t.Fatalf("raw response ends %q, want the last chunk", r.raw[max(0, len(r.raw)-40):])
				}
			}
			m := g.Program.Server().Metrics()
			if got := metricValue(m.ConnectionsClosed.WithLabelValues("shutdown")); got != streams {
				t.Fatalf("closed{shutdown} = %v, want %d", got, streams)
			}
			if got := g.Program.Server().Connections(); got != 0 {
				t.Fatalf("%d streams left after shutdown", got)
			}
		})
	}
}

// expiringAuth lets anyone subscribe with a credential that expires ttl
// after the request: a real Authenticator, as a short-lived JWT would be.
type expiringAuth struct {
	ttl  time.Duration
	last atomic.Int64 // unix nanoseconds of the newest expiry granted
}

// Authenticate grants the requested topics until ttl from now.
func (a *expiringAuth) Authenticate(_ *http.Request, topics []string) (gateway.Grant, error) {
	exp := time.Now().Add(a.ttl)
	a.last.Store(exp.UnixNano())
	return gateway.Grant{Topics: topics, Expires: exp}, nil
}

var _ gateway.Authenticator = (*expiringAuth)(nil)

func TestPathsTokenExpiry(t *testing.T) {
	t.Parallel()
	for _, path := range writePaths() {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			auth := &expiringAuth{ttl: 300 * time.Millisecond}
			g := startOnPath(t, path, gateway.ProgramConfig{
				Config: gateway.Config{Auth: auth, PingInterval: 50 * time.Millisecond},
			})
			s := subscribeOn(t, path, g, "", nil)
			ev := s.MustNext(t, 5*time.Second)
			if ev.Name != "token-expired" || ev.Data != `{"reason":"token_expired"}` {
				t.Fatalf("got event %q data %q, want token-expired", ev.Name, ev.Data)
			}
			if now := time.Now(); now.UnixNano() < auth.last.Load() {
				t.Fatalf("token-expired came %v before the expiry", time.Unix(0, auth.last.Load()).Sub(now))
			}
			// Then the response ends cleanly (io.EOF, not a cut chunked body).
			if ev, err := s.Next(5 * time.Second); !errors.Is(err, io.EOF) {
				t.Fatalf("after token-expired: event %+v, err %v; want the end of the stream", ev, err)
			}
			m := g.Program.Server().Metrics()
			waitFor(t, 5*time.Second, "stream closed as auth_expired", func() bool {
				return metricValue(m.ConnectionsClosed.WithLabelValues("auth_expired")) == 1 && g.Program.Server().Connections() == 0
			})
		})
	}
}

// stressClient is one raw HTTP/1.1 stream reader of the stress test.
type stressClient struct {
	conn   net.Conn
	quitAt int // disconnect after this many events; 0 = read them all
}

// run reads events until it has want of them (or quitAt), checking that
// the data values are 0, 1, 2, … It never calls t: it runs on its own
// goroutine and reports through its return value.
func (c *stressClient) run(br *bufio.Reader, want int) error {
	next := 0
	for next < want {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("after %d events: %w", next, err)
		}
		v, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if v != strconv.Itoa(next)+"\n" {
			return fmt.Errorf("event %d: data %q", next, v)
		}
		next++
		if next == c.quitAt {
			return c.conn.Close()
		}
	}
	return nil
}

// dialStress opens a stream on a plain connection and returns a reader of
// its de-chunked body.
func dialStress(addr, path string) (net.Conn, *bufio.Reader, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second)) // bounds every read of the test
	if _, err := fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, addr); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("request: %w", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("response head: %w", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Date") != "" {
		nc.Close()
		return nil, nil, fmt.Errorf("status %s, header %v: not a pooled stream", resp.Status, resp.Header)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		nc.Close()
		return nil, nil, fmt.Errorf("transfer encoding %v", resp.TransferEncoding)
	}
	return nc, bufio.NewReader(httputil.NewChunkedReader(br)), nil
}

// TestPoolStress: 500 pooled streams get 200 events each, in order, while
// a random tenth of them disconnect part-way; afterwards nothing is left
// (the TestMain goleak check covers the goroutines).
func TestPoolStress(t *testing.T) {
	t.Parallel()
	const (
		clients = 500
		events  = 200
		quitter = clients / 10
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := startGateway(t, gateway.ProgramConfig{})
	srv := g.Program.Server()
	addr := strings.TrimPrefix(g.URL, "http://")

	cs := make([]*stressClient, clients)
	readers := make([]*bufio.Reader, clients)
	var dialErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32) // connect 32 at a time
	for i := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			nc, br, err := dialStress(addr, "/api/sse/stream?topic=stress")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErr = errors.Join(dialErr, err)
				return
			}
			cs[i], readers[i] = &stressClient{conn: nc}, br
		}()
	}
	wg.Wait()
	for _, c := range cs {
		if c != nil {
			t.Cleanup(func() { c.conn.Close() })
		}
	}
	if dialErr != nil {
		t.Fatalf("connecting: %v", dialErr)
	}
	waitFor(t, 5*time.Second, "streams registered", func() bool { return srv.Connections() == clients })
	for _, i := range rand.Perm(clients)[:quitter] {
		cs[i].quitAt = 1 + rand.IntN(events-1)
	}

	errs := make(chan error, clients)
	for i, c := range cs {
		go func() {
			if err := c.run(readers[i], events); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			errs <- nil
		}()
	}
	for i := range events {
		publish(t, g, "stress", strconv.Itoa(i))
	}
	for range clients {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-ctx.Done():
			t.Fatalf("clients not done within the test's 10 s")
		}
	}
	if t.Failed() {
		return
	}
	for _, c := range cs {
		c.conn.Close()
	}
	waitFor(t, 5*time.Second, "every stream closed", func() bool {
		return srv.Connections() == 0 && metricValue(srv.Metrics().Connections) == 0
	})
	if got := metricValue(srv.Metrics().ConnectionsClosed.WithLabelValues("normal")); got != clients {
		t.Fatalf("closed{normal} = %v, want %d", got, clients)
	}
	if deadline, _ := ctx.Deadline(); time.Now().After(deadline) {
		t.Fatalf("the stress test took longer than 10 s")
	}
}
