package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/test/harness"
)

// BenchmarkReplay10k measures the gateway's resume path against a real
// Redis: a client connects with a Last-Event-ID 10,000 events back and the
// clock stops when it has received all 10,000. The history is written once
// with the publisher's own script (redisbroker), outside the timer; another
// client keeps the topic subscribed, as on a busy gateway.
//
//	REQUIRE_REDIS=1 go test -run '^$' -bench Replay10k -benchtime 20x ./test/integration/
func BenchmarkReplay10k(b *testing.B) {
	const (
		topic = "spools:updates"
		n     = 10000
	)
	srv := redistest.Start(b)
	rb, err := redisbroker.New(redisbroker.Options{URL: srv.URL(), History: broker.HistoryConfig{MaxLen: 2 * n}})
	if err != nil {
		b.Fatal(err)
	}
	defer rb.Close()
	ctx := context.Background()
	var from string
	for i := range n + 1 {
		data, err := json.Marshal(map[string]any{
			"event_type": "STATE_CHANGE", "tag_spool": fmt.Sprintf("SP-%05d", i),
			"worker_nombre": "Ana", "estado_detalle": "en proceso", "timestamp": "2026-01-27T22:13:37.000000Z",
		})
		if err != nil {
			b.Fatal(err)
		}
		res, err := rb.Publish(ctx, broker.PublishRequest{Topic: topic, Data: data, AcceptedAt: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			from = res.ID.String()
		}
	}
	g := startGateway(b, srv, gateway.Config{})
	harness.Subscribe(b, streamURL(g, topic), nil) // keeps the topic subscribed

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		s := harness.Subscribe(b, streamURL(g, topic), resumeFrom(from))
		for got := 0; got < n; got++ {
			if _, err := s.Next(waitFor); err != nil {
				b.Fatalf("after %d of %d events: %v", got, n, err)
			}
		}
		s.Close()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/10k")
}
