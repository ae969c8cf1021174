package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/test/harness"
)

// openStreams opens n streams and reads each until the server ends it; the
// channel gets what each client saw.
func openStreams(t *testing.T, g *harness.Gateway, n int) <-chan closedStream {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	results := make(chan closedStream, n)
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, streamURL(g, ""), nil)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("open stream: %v %v", resp, err)
		}
		go func() { // ends when the server ends the stream (or the ctx times out)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			results <- closedStream{body: body, at: time.Now(), err: err}
		}()
	}
	return results
}

// closedStream is what one client saw of a stream that the server ended.
type closedStream struct {
	body []byte
	at   time.Time
	err  error
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const (
		streams     = 3
		drainWindow = 900 * time.Millisecond
		grace       = 5 * time.Second
	)
	g := startGateway(t, gateway.ProgramConfig{
		Config:        gateway.Config{DrainWindow: drainWindow, Retry: 1500 * time.Millisecond},
		ShutdownGrace: grace,
	})
	srv := g.Program.Server()
	results := openStreams(t, g, streams)
	waitFor(t, 5*time.Second, "streams registered", func() bool { return srv.Connections() == streams })

	// While the drain runs, the gateway refuses new connections (so a
	// browser's EventSource retries instead of giving up on a 503), and on a
	// connection it already had it answers not ready and refuses streams.
	type probe struct {
		ready, stream int
		readyCode     string
		dialErr, err  error
	}
	kept := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer kept.CloseIdleConnections()
	if resp, err := kept.Get(g.URL + "/healthz"); err != nil {
		t.Fatalf("warm keep-alive connection: %v", err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	probed := make(chan probe, 1)
	go func() {
		var p probe
		defer func() { probed <- p }()
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for !srv.Draining() && time.Now().Before(deadline) {
			<-tick.C
		}
		if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(g.URL, "http://"), time.Second); err == nil {
			conn.Close()
		} else {
			p.dialErr = err
		}
		client := kept
		resp, err := client.Get(g.URL + "/readyz")
		if err != nil {
			p.err = err
			return
		}
		var eb struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		p.ready, p.readyCode = resp.StatusCode, eb.Error.Code
		resp, err = client.Get(streamURL(g, ""))
		if err != nil {
			p.err = err
			return
		}
		resp.Body.Close()
		p.stream = resp.StatusCode
	}()

	start := time.Now()
	if err := g.Stop(t); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if took := time.Since(start); took > grace {
		t.Fatalf("shutdown took %v, grace is %v", took, grace)
	}

	p := <-probed
	if p.dialErr == nil || !errors.Is(p.dialErr, syscall.ECONNREFUSED) {
		t.Fatalf("during drain a new connection got %v, want connection refused", p.dialErr)
	}
	if p.err != nil || p.ready != http.StatusServiceUnavailable || p.readyCode != "draining" || p.stream != http.StatusServiceUnavailable {
		t.Fatalf("during drain: /readyz %d %q, stream %d, err %v; want 503 draining and 503", p.ready, p.readyCode, p.stream, p.err)
	}
	var first, last time.Time
	const tail = "retry: 1500\nevent: shutdown\ndata: {\"reason\":\"shutdown\"}\n\n"
	for range streams {
		r := <-results
		if r.err != nil {
			t.Fatalf("stream ended with %v", r.err)
		}
		if !strings.HasSuffix(string(r.body), tail) {
			t.Fatalf("stream ended with %q, want a retry line and a shutdown event", r.body)
		}
		if first.IsZero() || r.at.Before(first) {
			first = r.at
		}
		if r.at.After(last) {
			last = r.at
		}
	}
	// Three streams over 900 ms close at about 0, 300 and 600 ms; all at
	// once would be within a few ms. (Client-side times: scheduling on a
	// busy machine blurs them, so the bound is loose.)
	if spread := last.Sub(first); spread < drainWindow/6 {
		t.Fatalf("streams closed %v apart, want them spread over the %v drain window", spread, drainWindow)
	}
	if got := metricValue(srv.Metrics().ConnectionsClosed.WithLabelValues("shutdown")); got != streams {
		t.Fatalf("closed{shutdown} = %v, want %d", got, streams)
	}
}

// TestShutdownEveryStreamGetsShutdownEvent is a regression test: with no
// drain window every stream is asked to close at once, and the server
// cancels the request contexts right after; a stream whose writer had not
// run yet used to end silently instead of with the shutdown event.
func TestShutdownEveryStreamGetsShutdownEvent(t *testing.T) {
	t.Parallel()
	const streams = 60
	g := startGateway(t, gateway.ProgramConfig{})
	results := openStreams(t, g, streams)
	waitFor(t, 5*time.Second, "streams registered", func() bool { return g.Program.Server().Connections() == streams })
	if err := g.Stop(t); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	silent := 0
	for range streams {
		if !strings.HasSuffix(string((<-results).body), "event: shutdown\ndata: {\"reason\":\"shutdown\"}\n\n") {
			silent++
		}
	}
	if silent > 0 {
		t.Fatalf("%d of %d streams ended without a shutdown event", silent, streams)
	}
}
