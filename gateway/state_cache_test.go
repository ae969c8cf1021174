package gateway

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
)

// stateCountingBroker is the in-process broker with a count of State reads.
type stateCountingBroker struct {
	*membroker.Broker
	reads atomic.Int64
}

func (b *stateCountingBroker) State(ctx context.Context, topic string) (broker.State, error) {
	b.reads.Add(1)
	return b.Broker.State(ctx, topic)
}

// TestStateReadShared: concurrent GET /api/state requests of one topic
// share one broker read, and its answer serves later requests until
// Config.StateCacheTTL passes; another topic is read on its own.
func TestStateReadShared(t *testing.T) {
	t.Parallel()
	b := &stateCountingBroker{Broker: membroker.New(broker.HistoryConfig{})}
	ts := startTestServer(t, b, Config{StateCacheTTL: time.Hour})
	if _, err := b.Publish(context.Background(), broker.PublishRequest{Topic: "t", Key: "k", Data: []byte("1"), AcceptedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	get := func(topic string) string {
		resp, err := http.Get(ts.URL + "/api/state?topic=" + topic)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
		return string(body)
	}
	var wg sync.WaitGroup
	bodies := make([]string, 50)
	for i := range bodies {
		wg.Go(func() { bodies[i] = get("t") })
	}
	wg.Wait()
	for _, body := range bodies[1:] {
		if body != bodies[0] {
			t.Fatalf("answers differ: %s and %s", bodies[0], body)
		}
	}
	if n := b.reads.Load(); n != 1 {
		t.Fatalf("%d broker reads for 50 requests of one topic, want 1", n)
	}
	get("other")
	if n := b.reads.Load(); n != 2 {
		t.Fatalf("%d broker reads after another topic, want 2", n)
	}
}
