package node

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/internal/testproc"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// envRequire turns "no node or npm" from a skip into a failure (CI).
	envRequire = "REQUIRE_NODE"
	// waitFor bounds every wait for the client.
	waitFor = 20 * time.Second
)

// TestEventSourceResumesFromFirstPosition (issue 11): Node's `eventsource`
// clients open a single-topic and a multi-topic stream while nothing was
// ever published, so the only id they have is the position each stream
// starts with (an id line without data). The gateway stops, one event per
// topic is published while none runs, a gateway starts on the same
// address: each client reconnects with its position in Last-Event-ID and
// gets exactly those events, with no reset.
func TestEventSourceResumesFromFirstPosition(t *testing.T) {
	node := testproc.Require(t, envRequire, "apt-get install nodejs", "node")
	npm := testproc.Require(t, envRequire, "apt-get install npm", "npm")
	dir := installClients(t, npm)
	redis := redistest.Start(t) // history outlives the gateway
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: redis.URL()})

	// eventsource 5 follows the spec's parser; 2.x is still widely used.
	for _, pkg := range []string{"eventsource", "eventsource-v2"} {
		t.Run(pkg, func(t *testing.T) {
			cfg := gateway.ProgramConfig{
				Config:        gateway.Config{Retry: 100 * time.Millisecond, DrainWindow: 50 * time.Millisecond},
				RedisURL:      redis.URL(),
				ShutdownGrace: 5 * time.Second,
			}
			g := startGatewayOn(t, harness.Listen(t), cfg)
			a, b := pkg+":a", pkg+":b"
			c := startClient(t, node, dir, pkg, streamURL(g, a), streamURL(g, a, b))
			c.expect(t, 0, "open")
			c.expect(t, 1, "open")

			addr := g.URL[len("http://"):]
			if err := g.Stop(t); err != nil {
				t.Fatalf("gateway run: %v", err)
			}
			idA := harness.PublishEvent(t, pub.URL, a, map[string]string{"n": "a"}).ID
			idB := harness.PublishEvent(t, pub.URL, b, map[string]string{"n": "b"}).ID
			startGatewayOn(t, harness.ListenAgain(t, addr), cfg)

			if m := c.expect(t, 0, "message"); m.ID != idA || m.Data != `{"n":"a"}` {
				t.Fatalf("single-topic stream got %+v, want %s", m, idA)
			}
			// The multi-topic replay goes topic by topic; ids are positions.
			if m := c.expect(t, 1, "message"); m.ID != idA+"_0-0" || m.Data != `{"n":"a"}` {
				t.Fatalf("multi-topic stream got %+v, want %s_0-0", m, idA)
			}
			if m := c.expect(t, 1, "message"); m.ID != idA+"_"+idB || m.Data != `{"n":"b"}` {
				t.Fatalf("multi-topic stream got %+v, want %s_%s", m, idA, idB)
			}
		})
	}
}

// installClients copies the client and its pinned packages into a
// temporary directory and installs them there with npm ci.
func installClients(t *testing.T, npm string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "client.mjs"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // the registry may be slow; never hang
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	return dir
}

// streamURL is the gateway's stream route for topics.
func streamURL(g *harness.Gateway, topics ...string) string {
	q := url.Values{}
	for _, tp := range topics {
		q.Add("topic", tp)
	}
	return g.URL + "/api/sse/stream?" + q.Encode()
}

// startGatewayOn runs a gateway on ln and waits until it takes streams.
func startGatewayOn(t *testing.T, ln net.Listener, cfg gateway.ProgramConfig) *harness.Gateway {
	t.Helper()
	g := harness.StartGatewayOn(t, ln, cfg)
	harness.WaitHTTP(t, g.URL+"/readyz", http.StatusOK)
	return g
}

// line is one thing the client saw (see client.mjs).
type line struct {
	Stream int    `json:"stream"`
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Data   string `json:"data"`
}

// client is a running client.mjs.
type client struct {
	lines   chan line
	pending map[int][]line // read, not yet expected; the test's goroutine only
}

// startClient runs client.mjs with package pkg on urls; cleanup ends it.
func startClient(t *testing.T, node, dir, pkg string, urls ...string) *client {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, append([]string{"client.mjs", pkg}, urls...)...)
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, inR, outW, stderr
	p, err := testproc.Start(cmd)
	inR.Close()
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{lines: make(chan line, 1024), pending: make(map[int][]line)}
	// Owner: the client. Exit: stdout ends when node exits (cleanup).
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = line{Stream: -1, Kind: "unparsed", Data: sc.Text()}
			}
			c.lines <- l
		}
	}()
	t.Cleanup(func() {
		inW.Close() // the client closes its streams and exits
		select {
		case <-p.Done():
		case <-time.After(5 * time.Second):
			_ = p.Kill(5 * time.Second)
		}
		for range c.lines { // until the reader has seen stdout end
		}
		outR.Close()
		if b, _ := os.ReadFile(stderr.Name()); len(b) > 0 {
			t.Logf("client stderr:\n%s", b)
		}
		stderr.Close()
	})
	return c
}

// expect returns the next line of kind on stream (the streams' lines
// interleave), skipping connection errors and opens while reconnecting,
// and fails on anything else.
func (c *client) expect(t *testing.T, stream int, kind string) line {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		for len(c.pending[stream]) > 0 {
			l := c.pending[stream][0]
			c.pending[stream] = c.pending[stream][1:]
			if l.Kind == "error" || (l.Kind == "open" && kind != "open") {
				continue // reconnecting
			}
			if l.Kind != kind {
				t.Fatalf("client saw %+v, want %s on stream %d", l, kind, stream)
			}
			return l
		}
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("the client exited while waiting for %s on stream %d", kind, stream)
			}
			if l.Stream < 0 {
				t.Fatalf("client printed %q", l.Data)
			}
			c.pending[l.Stream] = append(c.pending[l.Stream], l)
		case <-timeout:
			t.Fatalf("no %s on stream %d within %v", kind, stream, waitFor)
		}
	}
}
