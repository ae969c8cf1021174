package gateway

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
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/streamid"
)

// loopbackPair returns both ends of a real TCP connection on loopback (the
// pool needs a syscall.RawConn, which net.Pipe does not have). small
// shrinks the client's receive and the server's send buffer, so that a
// client that does not read fills them with a few KiB.
func loopbackPair(t testing.TB, small bool) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	d := net.Dialer{Timeout: 5 * time.Second}
	if small {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			return errors.Join(err, serr)
		}
	}
	cc, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	sc, err := ln.Accept()
	if err != nil {
		cc.Close()
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { cc.Close(); sc.Close() })
	server, client = sc.(*net.TCPConn), cc.(*net.TCPConn)
	if small {
		if err := server.SetWriteBuffer(4096); err != nil {
			t.Fatalf("SO_SNDBUF: %v", err)
		}
	}
	return server, client
}

// testPool is a writer pool running on a gateway that has no HTTP side.
type testPool struct {
	s    *Server
	p    *pool
	stop func() // stops the pool and waits for it; idempotent
}

func startTestPool(t testing.TB, cfg Config) *testPool {
	t.Helper()
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	s := New(membroker.New(broker.HistoryConfig{}), cfg)
	if s.pool == nil {
		t.Fatal("no writer pool")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.pool.run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return &testPool{s: s, p: s.pool, stop: stop}
}

// finishes records how a connection ended; more than one finish is a bug.
type finishes struct {
	n      atomic.Int32
	reason chan string // the first reason
}

func (f *finishes) record(reason string) {
	if f.n.Add(1) == 1 {
		f.reason <- reason
	}
}

// wait returns the first reason, or fails after timeout.
func (f *finishes) wait(t testing.TB, timeout time.Duration) string {
	t.Helper()
	select {
	case r := <-f.reason:
		return r
	case <-time.After(timeout):
		t.Fatalf("connection not finished within %v", timeout)
		return ""
	}
}

// wireConn makes a conn for the server end of a loopback pair the way the
// stream handler does before the handoff: socket, abort, cleanup.
func wireConn(t testing.TB, nc *net.TCPConn, maxQueue int) (*conn, *finishes) {
	t.Helper()
	raw, err := nc.SyscallConn()
	if err != nil {
		t.Fatalf("raw conn: %v", err)
	}
	c := newConn("c", []string{"t"}, maxQueue, func(int) {})
	c.wire = &wire{nc: nc, raw: raw}
	c.setAbort(func() { _ = nc.SetWriteDeadline(time.Now()) })
	f := &finishes{reason: make(chan string, 1)}
	c.onFinish = f.record
	return c, f
}

// handOff gives c to the pool as the stream handler does.
func (tp *testPool) handOff(t testing.TB, c *conn) {
	t.Helper()
	if err := tp.p.watch.add(c); err != nil {
		t.Fatalf("watch: %v", err)
	}
	c.adopt(tp.p)
}

// readChunked reads the client end until the server ends it and returns
// the de-chunked body, and whether the chunked body ended with the
// last-chunk marker; a connection cut short is not an error, a stream
// still open after timeout is. It runs on any goroutine.
func readChunked(client net.Conn, timeout time.Duration) (body []byte, terminated bool, err error) {
	_ = client.SetReadDeadline(time.Now().Add(timeout))
	body, err = io.ReadAll(httputil.NewChunkedReader(client))
	switch {
	case err == nil:
		// The chunked reader stops at the last chunk: the empty trailer's
		// CRLF may follow, then the server closes.
		rest, rerr := io.ReadAll(client)
		if len(rest) > 2 || rerr != nil {
			return body, true, fmt.Errorf("after the last chunk: %q %w", rest, rerr)
		}
		return body, true, nil
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return body, false, nil
	}
	return body, false, fmt.Errorf("after %d bytes: %w", len(body), err)
}

// sseMessages splits an SSE body into its data values and the names of
// its named events, skipping comments.
func sseMessages(body []byte) (data, names []string) {
	blocks := strings.Split(string(body), "\n\n")
	for _, block := range blocks[:len(blocks)-1] { // the last one is incomplete

		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			case strings.HasPrefix(line, "event: "):
				names = append(names, strings.TrimPrefix(line, "event: "))
			}
		}
	}
	return data, names
}

// checkPerSenderOrder checks that the "g-i" data values of every sender g
// are 0, 1, 2, … without gaps or repeats, and returns how many there were.
func checkPerSenderOrder(t testing.TB, data []string) int {
	t.Helper()
	next := map[string]int{}
	n := 0
	for _, d := range data {
		g, i, ok := strings.Cut(d, "-")
		if !ok {
			continue
		}
		seq, err := strconv.Atoi(i)
		if err != nil {
			t.Fatalf("bad data %q", d)
		}
		if seq != next[g] {
			t.Fatalf("sender %s: got %d, want %d", g, seq, next[g])
		}
		next[g]++
		n++
	}
	return n
}

// TestPoolOwnershipConcurrentEnqueues hammers one pooled connection from
// many goroutines (frames, pings, and an ending) while a slow client reads
// it through small socket buffers, so the worker, the flush slow path and
// the run queue all take turns owning it. Two writers at once would
// interleave bytes and break the chunked framing; a lost wakeup would lose
// frames or hang; a double finish would count twice.
func TestPoolOwnershipConcurrentEnqueues(t *testing.T) {
	t.Parallel()
	const senders, perSender = 8, 300
	tests := []struct {
		name       string
		end        func(c *conn)
		during     bool   // end while the senders still run
		reason     string // the finish reason
		event      string // the closing event, if any
		terminated bool   // the chunked body ends with the last-chunk marker
	}{
		{"close after the frames", func(c *conn) { c.close(reasonError) }, false, reasonError, "", true},
		{"drain after the frames", (*conn).drain, false, reasonShutdown, "shutdown", true},
		{"expire after the frames", (*conn).expire, false, reasonAuthExpired, "token-expired", true},
		{"close during the frames", func(c *conn) { c.close(reasonError) }, true, reasonError, "", true},
		{"drain during the frames", (*conn).drain, true, reasonShutdown, "shutdown", true},
		{"kill during the frames", func(c *conn) { c.kill(reasonShutdown) }, true, reasonShutdown, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := startTestPool(t, Config{SendTimeout: 20 * time.Second, Retry: time.Second})
			server, client := loopbackPair(t, true)
			c, fin := wireConn(t, server, 1<<20)
			tp.handOff(t, c)

			type result struct {
				body       []byte
				terminated bool
				err        error
			}
			read := make(chan result, 1)
			startReading := make(chan struct{})
			var startOnce sync.Once
			start := func() { startOnce.Do(func() { close(startReading) }) }
			t.Cleanup(start) // a failed test does not leave the reader waiting
			go func() {
				<-startReading
				b, term, err := readChunked(client, 15*time.Second)
				read <- result{b, term, err}
			}()
			if tt.during {
				start() // the client reads while frames come
			}

			var wg sync.WaitGroup
			endAt := rand.IntN(perSender)
			for g := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perSender {
						// Raw frames (no id): every one must arrive.
						c.enqueue(newFrame("t", streamid.Zero, false, "", []byte(fmt.Sprintf("%d-%d", g, i)), time.Time{}))
						if i%16 == 0 {
							c.ping(time.Now(), 0)
						}
						if tt.during && g == 0 && i == endAt {
							tt.end(c)
						}
					}
				}()
			}
			wg.Wait()
			if !tt.during {
				tt.end(c)
				start() // only now: the socket buffers were full
			}
			r := <-read
			if reason := fin.wait(t, 5*time.Second); reason != tt.reason {
				t.Fatalf("finished as %q, want %q", reason, tt.reason)
			}
			if r.err != nil {
				t.Fatalf("reading the stream: %v", r.err)
			}
			if tt.terminated && !r.terminated {
				t.Fatalf("the stream ended without the last chunk (read %d bytes)", len(r.body))
			}
			data, names := sseMessages(r.body)
			got := checkPerSenderOrder(t, data)
			if !tt.during && got != senders*perSender {
				t.Fatalf("client got %d frames, want %d", got, senders*perSender)
			}
			if tt.event != "" && (len(names) == 0 || names[len(names)-1] != tt.event) {
				t.Fatalf("events %v, want the last one to be %q", names, tt.event)
			}
			if n := fin.n.Load(); n != 1 {
				t.Fatalf("finished %d times", n)
			}
			// Once finished the connection is never scheduled again.
			c.enqueue(newFrame("t", streamid.Zero, false, "", []byte("late"), time.Time{}))
			c.close(reasonNormal)
			if n := fin.n.Load(); n != 1 {
				t.Fatalf("finished %d times after late work", n)
			}
		})
	}
}

// TestAbortOutlastsNextDeadline is a regression test: a kill (or a queue
// overflow) that came between two writes was undone by the next write's
// fresh deadline, so the write blocked on a client that does not read for
// a whole send timeout. It covers the writes before the handoff
// (chunkWriter, replay) and the pool's slow path (flush).
func TestAbortOutlastsNextDeadline(t *testing.T) {
	t.Parallel()
	const sendTimeout = 10 * time.Second // far beyond the test's bound
	big := bytes.Repeat([]byte("x"), 4<<20)
	tests := []struct {
		name  string
		abort func(c *conn)
		write func(t *testing.T, tp *testPool, c *conn, nc net.Conn) (reason string)
	}{
		{"chunkWriter after kill", func(c *conn) { c.kill(reasonShutdown) }, func(t *testing.T, _ *testPool, c *conn, nc net.Conn) string {
			w := &chunkWriter{nc: nc, cn: c, timeout: sendTimeout, last: &c.lastWrite}
			err := w.write(big)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write returned %v, want a deadline error", err)
			}
			return c.writeReason(err)
		}},
		{"flush after kill", func(c *conn) { c.kill(reasonShutdown) }, func(t *testing.T, tp *testPool, c *conn, _ net.Conn) string {
			c.wire.pending = append(c.wire.pending[:0], big...)
			tp.p.wg.Add(1)
			go tp.p.flush(c, 1, "")
			return ""
		}},
		{"flush after queue overflow", func(c *conn) {
			for i := range c.maxQueue + 1 {
				c.enqueue(testFrame(uint64(i + 1)))
			}
		}, func(t *testing.T, tp *testPool, c *conn, _ net.Conn) string {
			c.wire.pending = append(c.wire.pending[:0], big...)
			tp.p.wg.Add(1)
			go tp.p.flush(c, 1, "")
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := startTestPool(t, Config{SendTimeout: sendTimeout})
			server, _ := loopbackPair(t, true) // the client never reads
			c, fin := wireConn(t, server, 4)
			tt.abort(c)
			start := time.Now()
			if reason := tt.write(t, tp, c, server); reason == "" {
				reason = fin.wait(t, 5*time.Second)
				want := reasonShutdown
				if c.evictedSlow() {
					want = reasonSlow
				}
				if reason != want {
					t.Fatalf("finished as %q, want %q", reason, want)
				}
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("the aborted write took %v", took)
			}
		})
	}
}

// TestPoolStopFinishesOpenConnections is a regression test: connections
// the pool held when it stopped (idle, or queued after the workers left)
// were never finished, keeping their socket and their place in the hub;
// and a handoff after the stop was queued for workers that were gone.
func TestPoolStopFinishesOpenConnections(t *testing.T) {
	t.Parallel()
	tp := startTestPool(t, Config{})
	const n = 4
	type pair struct {
		c      *conn
		fin    *finishes
		client net.Conn
	}
	var ps []pair
	for range n {
		server, client := loopbackPair(t, false)
		c, fin := wireConn(t, server, 8)
		tp.handOff(t, c)
		ps = append(ps, pair{c, fin, client})
	}
	idle := func(c *conn) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.owned
	}
	for _, p := range ps {
		waitFor(t, 5*time.Second, "connection idle in the pool", func() bool { return idle(p.c) })
	}
	tp.stop()
	for _, p := range ps {
		if reason := p.fin.wait(t, 5*time.Second); reason != reasonShutdown {
			t.Fatalf("finished as %q, want %q", reason, reasonShutdown)
		}
		_ = p.client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(p.client); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("client end: %v, want the socket closed", err)
		}
	}
	server, _ := loopbackPair(t, false)
	c, _ := wireConn(t, server, 8)
	if err := tp.p.watch.add(c); !errors.Is(err, errPoolStopped) {
		t.Fatalf("add after stop: %v, want %v", err, errPoolStopped)
	}
}

func TestRunQueueFIFO(t *testing.T) {
	t.Parallel()
	q := runQueue{wake: make(chan struct{}, 1)}
	cs := make([]*conn, 51)
	for i := range cs {
		cs[i] = newConn(strconv.Itoa(i), []string{"t"}, 1, func(int) {})
	}
	ctx := context.Background()
	next := 0
	expect := func() {
		t.Helper()
		if got := q.pop(ctx); got != cs[next] {
			t.Fatalf("pop %d returned %s", next, got.id)
		}
		next++
	}
	for i, c := range cs {
		q.push(c)
		if i%2 == 1 { // two pushes, one pop: the queue is rarely empty
			expect()
		}
	}
	for next < len(cs) {
		expect()
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got := q.pop(cctx); got != nil {
		t.Fatalf("pop on an empty queue after cancel returned %s", got.id)
	}
}

// TestRunQueueBacklogStaysBounded is a regression test: the queue only
// reset its slice when it ran empty, so a queue that always had a backlog
// grew by every push.
func TestRunQueueBacklogStaysBounded(t *testing.T) {
	t.Parallel()
	q := runQueue{wake: make(chan struct{}, 1)}
	c := newConn("c", []string{"t"}, 1, func(int) {})
	const backlog = 100
	for range backlog {
		q.push(c)
	}
	ctx := context.Background()
	for range 100_000 {
		q.push(c)
		q.pop(ctx)
	}
	if got := cap(q.items); got > 4*backlog {
		t.Fatalf("queue capacity %d with a backlog of %d", got, backlog)
	}
}

// TestRunQueueConcurrent: every connection pushed by concurrent producers
// is popped exactly once by concurrent workers, in each producer's order,
// and idle workers wake up for new work (no lost wakeup).
func TestRunQueueConcurrent(t *testing.T) {
	t.Parallel()
	const producers, perProducer, workers = 4, 2000, 3
	q := runQueue{wake: make(chan struct{}, workers)}
	cs := make([][]*conn, producers)
	index := map[*conn][2]int{}
	for p := range cs {
		for i := range perProducer {
			c := newConn(fmt.Sprintf("%d-%d", p, i), []string{"t"}, 1, func(int) {})
			cs[p] = append(cs[p], c)
			index[c] = [2]int{p, i}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	popped := make(chan []*conn, workers)
	for range workers {
		go func() {
			var got []*conn
			for {
				c := q.pop(ctx)
				if c == nil {
					popped <- got
					return
				}
				got = append(got, c)
			}
		}()
	}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range cs[p] {
				q.push(c)
			}
		}()
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "queue drained", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.head == len(q.items)
	})
	cancel()
	seen := map[*conn]bool{}
	for range workers {
		last := make([]int, producers) // each worker pops a producer's items in order
		for i := range last {
			last[i] = -1
		}
		for _, c := range <-popped {
			if seen[c] {
				t.Fatalf("%s popped twice", c.id)
			}
			seen[c] = true
			pi := index[c]
			if pi[1] <= last[pi[0]] {
				t.Fatalf("%s popped after %d-%d", c.id, pi[0], last[pi[0]])
			}
			last[pi[0]] = pi[1]
		}
	}
	if len(seen) != producers*perProducer {
		t.Fatalf("popped %d, want %d", len(seen), producers*perProducer)
	}
}

// notified waits up to timeout for c's writer notification (the watcher's
// close of a connection that no pool owns).
func notified(c *conn, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.notify:
		return true
	case <-t.C:
		return false
	}
}

// closedAs returns c's close reason, "" while it is open.
func closedAs(c *conn) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		return ""
	}
	return c.reason
}

// TestWatcherPeerClose: the watcher closes exactly the connection whose
// peer went away, within a bounded wait, never another one, and forgets a
// removed connection (keys are never reused).
func TestWatcherPeerClose(t *testing.T) {
	t.Parallel()
	w, err := newWatcher()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		w.close()
	})
	const n = 24
	type watched struct {
		c      *conn
		client net.Conn
	}
	var ws []watched
	keys := map[uint64]bool{}
	for i := range n {
		server, client := loopbackPair(t, false)
		c, _ := wireConn(t, server, 1)
		if err := w.add(c); err != nil {
			t.Fatalf("add: %v", err)
		}
		if keys[c.wire.key] {
			t.Fatalf("key %d reused", c.wire.key)
		}
		keys[c.wire.key] = true
		if i%3 == 2 {
			// Removed and added again: a new key, and the old one is gone.
			w.remove(c)
			if err := w.add(c); err != nil {
				t.Fatalf("add again: %v", err)
			}
			if keys[c.wire.key] {
				t.Fatalf("key %d reused", c.wire.key)
			}
			keys[c.wire.key] = true
		}
		ws = append(ws, watched{c, client})
	}
	// A removed connection's peer close is not reported.
	removed := ws[0]
	w.remove(removed.c)
	removed.client.Close()

	order := rand.Perm(n - 1)
	for k, i := range order {
		target := ws[i+1]
		target.client.Close()
		if !notified(target.c, 5*time.Second) {
			t.Fatalf("peer close of connection %d not reported within 5s", i+1)
		}
		if r := closedAs(target.c); r != reasonNormal {
			t.Fatalf("closed as %q, want %q", r, reasonNormal)
		}
		for _, j := range order[k+1:] {
			if closedAs(ws[j+1].c) != "" {
				t.Fatalf("closing the peer of %d closed %d", i+1, j+1)
			}
		}
		if closedAs(removed.c) != "" {
			t.Fatal("a removed connection was reported")
		}
	}
}

// TestStreamOverTLSIsNotPooled is a regression test: the pool writes raw
// bytes to the socket, so it must never take a TLS connection. A stream
// over HTTP/1.1 with TLS was hijacked and then panicked on the missing
// syscall.Conn (the client saw its connection cut instead of a stream).
func TestStreamOverTLSIsNotPooled(t *testing.T) {
	t.Parallel()
	mb := membroker.New(broker.HistoryConfig{})
	s := New(mb, Config{Retry: time.Second})
	if s.pool == nil {
		t.Fatal("no writer pool")
	}
	e := httpserver.NewEcho(httpserver.Options{StreamRoutes: []string{streamPath}})
	s.Register(e)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- s.Run(ctx) }()
	ts := httptest.NewUnstartedServer(e) // HTTP/1.1 over TLS: EnableHTTP2 is off
	ts.StartTLS()
	t.Cleanup(func() {
		s.Close(context.Background())
		ts.Close()
		cancel()
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, ts.URL+streamPath+"?topic=tls", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 {
		t.Fatalf("%s %s", resp.Proto, resp.Status)
	}
	br := bufio.NewReader(resp.Body)
	want := "retry: 1000\n: ok\n\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
		t.Fatalf("first bytes %q (%v), want %q", got, err, want)
	}
	waitFor(t, 5*time.Second, "stream registered", func() bool { return s.Connections() == 1 })
	if _, err := mb.Publish(context.Background(), broker.PublishRequest{Topic: "tls", Data: []byte("over tls")}); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for the event: %v", err)
		}
		if line == "data: over tls\n" {
			break
		}
	}
	stop()
	waitFor(t, 5*time.Second, "stream closed", func() bool { return s.Connections() == 0 })
}

// TestClockTinyPingInterval is a regression test: a ping interval under
// 2ns made the clock's tick zero, and time.NewTicker panicked, taking the
// process down. The clock now ticks at least every millisecond.
func TestClockTinyPingInterval(t *testing.T) {
	t.Parallel()
	s := New(membroker.New(broker.HistoryConfig{}), Config{PingInterval: time.Nanosecond, Writers: -1})
	cn := newConn("c", []string{"t"}, 4, func(int) {})
	s.hub.join(cn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if !notified(cn, 5*time.Second) {
		t.Fatal("no keepalive tick within 5s")
	}
	if !cn.take().ping {
		t.Fatal("the tick did not ask for a ping")
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

// queued is how many entries p's run queue holds.
func queued(p *pool) int {
	p.queue.mu.Lock()
	defer p.queue.mu.Unlock()
	return len(p.queue.items) - p.queue.head
}

// TestConnOwnershipProtocol: work that arrives while a worker holds the
// connection (between its take and its release) is never lost: release
// queues the connection again; otherwise release lets go, and the next
// wake queues it exactly once.
func TestConnOwnershipProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		between func(c *conn)
		requeue bool
	}{
		{"nothing", func(*conn) {}, false},
		{"frame", func(c *conn) { c.enqueue(testFrame(1)) }, true},
		{"ping", func(c *conn) { c.ping(time.Now(), 0) }, true},
		{"close", func(c *conn) { c.close(reasonError) }, true},
		{"kill", func(c *conn) { c.kill(reasonShutdown) }, true},
		{"drain", (*conn).drain, true},
		{"expire", (*conn).expire, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &pool{queue: runQueue{wake: make(chan struct{}, 1)}}
			c := newConn("c", []string{"t"}, 4, func(int) {})
			c.adopt(p)
			if got := p.queue.pop(context.Background()); got != c {
				t.Fatal("adopt did not queue the connection")
			}
			c.take() // a worker holds it
			tt.between(c)
			if n := queued(p); n != 0 {
				t.Fatalf("queued %d times while held", n)
			}
			c.release(p)
			if tt.requeue {
				if n := queued(p); n != 1 {
					t.Fatalf("queued %d times after release, want 1", n)
				}
				return
			}
			if n := queued(p); n != 0 {
				t.Fatalf("queued %d times with nothing to do", n)
			}
			c.wake()
			c.wake()
			c.enqueue(testFrame(2))
			if n := queued(p); n != 1 {
				t.Fatalf("queued %d times after wakes, want 1", n)
			}
		})
	}
}
