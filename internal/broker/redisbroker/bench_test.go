package redisbroker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// BenchmarkPublish measures the publish path (the Lua script: XADD with
// MAXLEN ~ trimming, PUBLISH, optional idempotency record) against one
// local redis-server, from many concurrent callers as a publisher process
// under load, It reports
// events per second; docs/scaling.md quotes it as the rate one shard takes.
//
//	REQUIRE_REDIS=1 go test -run '^$' -bench Publish -benchtime 5s ./internal/broker/redisbroker/
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b)
	for _, tc := range []struct {
		name string
		idem bool
		size int
	}{
		{"200B", false, 200},
		{"200B+idempotency-key", true, 200},
		{"2KiB", false, 2048},
	} {
		b.Run(tc.name, func(b *testing.B) {
			br, err := redisbroker.New(redisbroker.Options{URL: srv.URL(), History: broker.HistoryConfig{MaxLen: 10000, IdempotencyTTL: time.Minute}})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			data := make([]byte, tc.size)
			for i := range data {
				data[i] = 'x'
			}
			var seq atomic.Int64
			b.SetParallelism(16) // 16 × GOMAXPROCS callers: the client pipelines them
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					req := broker.PublishRequest{Topic: fmt.Sprintf("bench:%d", n%50), Data: data, AcceptedAt: time.Now()}
					if tc.idem {
						req.IdempotencyKey, req.Fingerprint = fmt.Sprint(n), "f"
					}
					if _, err := br.Publish(b.Context(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// nopSink drops what the broker delivers.
type nopSink struct{}

func (nopSink) Message(string, []byte) {}
func (nopSink) Resubscribed(string)    {}

// BenchmarkSubscribe measures the subscriber's bookkeeping and its
// SUBSCRIBE round trip: one op subscribes 100 fresh topics, waits for
// Redis's confirmation of each, and unsubscribes them (which does not wait).
//
//	REQUIRE_REDIS=1 go test -run '^$' -bench Subscribe ./internal/broker/redisbroker/
func BenchmarkSubscribe(b *testing.B) {
	srv := redistest.Start(b)
	br, err := redisbroker.New(redisbroker.Options{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx, nopSink{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	topics := make([]string, 100)
	b.ResetTimer()
	for i := range b.N {
		for j := range topics {
			topics[j] = fmt.Sprintf("bench:%d:%d", i, j)
		}
		if err := br.Subscribe(ctx, topics); err != nil {
			b.Fatal(err)
		}
		br.Unsubscribe(topics)
	}
}
