package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// gatedBroker is a real Redis broker whose Subscribe waits at a gate: the
// test holds a topic's first subscription open for as long as it likes.
type gatedBroker struct {
	*redisbroker.Broker
	entered chan struct{} // receives once per Subscribe call
	open    chan struct{} // closed by the test: Subscribe goes on
}

func (b *gatedBroker) Subscribe(ctx context.Context, topics []string) error {
	b.entered <- struct{}{}
	select {
	case <-b.open:
	case <-ctx.Done():
		return fmt.Errorf("held at the gate: %w", ctx.Err())
	}
	return b.Broker.Subscribe(ctx, topics)
}

// streamResult is what a client got from a stream request.
type streamResult struct {
	resp *http.Response
	err  error
}

// getStream sends a stream request in the background; the response
// arrives once the gateway has subscribed the topic.
func getStream(ctx context.Context, url string) <-chan streamResult {
	out := make(chan streamResult, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			out <- streamResult{err: err}
			return
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		out <- streamResult{resp: resp, err: err}
	}()
	return out
}

// TestClientAbortDuringSetupDoesNotFailOthers: the client whose request
// started a topic's subscription leaves while Redis has not confirmed it;
// the clients that joined the topic meanwhile still get 200 and events.
func TestClientAbortDuringSetupDoesNotFailOthers(t *testing.T) {
	rd := redistest.Start(t)
	rb, err := redisbroker.New(redisbroker.Options{URL: rd.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rb.Close)
	gb := &gatedBroker{Broker: rb, entered: make(chan struct{}, 4), open: make(chan struct{})}
	ts := startTestServer(t, gb, Config{})
	waitFor(t, 10*time.Second, "redis subscription up", func() bool { return rb.HealthyFor(nil) })
	const topic, others = "setup:abort", 3
	url := ts.URL + streamPath + "?topic=" + topic

	ctxA, abortA := context.WithCancel(context.Background())
	defer abortA()
	first := getStream(ctxA, url)
	<-gb.entered // the first client's subscription is held open
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	var rest []<-chan streamResult
	for range others {
		rest = append(rest, getStream(ctxB, url))
	}
	refs := func() int { return feedTopics(ts.feed)[topic] }
	waitFor(t, 5*time.Second, "every client waiting on the setup", func() bool { return refs() == 1+others })
	abortA()
	if r := <-first; r.err == nil {
		r.resp.Body.Close()
		t.Fatalf("aborted client got %s", r.resp.Status)
	}
	waitFor(t, 5*time.Second, "the aborted client released the topic", func() bool { return refs() < 1+others })
	close(gb.open)

	var readers []*bufio.Reader
	for i, ch := range rest {
		r := <-ch
		if r.err != nil {
			t.Fatalf("client %d: %v", i, r.err)
		}
		defer r.resp.Body.Close()
		if r.resp.StatusCode != http.StatusOK {
			t.Fatalf("client %d joined during the setup and got %s, want 200", i, r.resp.Status)
		}
		readers = append(readers, bufio.NewReader(r.resp.Body))
	}
	res, err := rb.Publish(context.Background(), broker.PublishRequest{Topic: topic, Data: []byte("after-abort"), AcceptedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for i, br := range readers {
		if got := readData(t, br); got != "id: "+res.ID.String()+"/data: after-abort" {
			t.Fatalf("client %d got %q", i, got)
		}
	}
	cancelB()
	waitFor(t, 5*time.Second, "topic unsubscribed", func() bool { return rd.NumSub(t, topic) == 0 })
}

// readData reads frames until one has data and returns its id and data
// lines joined by "/".
func readData(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var id string
	for range 100 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line
		case strings.HasPrefix(line, "data: "):
			return id + "/" + line
		}
	}
	t.Fatal("no data line in 100 lines")
	return ""
}
