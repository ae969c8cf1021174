package loadgen

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/redistest"
)

// bridgeRedis makes the fake gateways forward raw Redis messages on topics,
// like the real gateway does for a legacy publisher (`data: <payload>`, no
// id). It returns once the subscription is confirmed.
func bridgeRedis(t *testing.T, b *fakeBroker, addr string, topics []string) {
	t.Helper()
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	subscribed := make(chan struct{}, 1)
	hctx := rueidis.WithOnSubscriptionHook(ctx, func(s rueidis.PubSubSubscription) {
		if s.Kind == "subscribe" && s.Count == int64(len(topics)) {
			select {
			case subscribed <- struct{}{}:
			default:
			}
		}
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			err := client.Receive(hctx, client.B().Subscribe().Channel(topics...).Build(), func(m rueidis.PubSubMessage) {
				b.publish(m.Channel, "", []byte(m.Message), true)
			})
			if errors.Is(err, rueidis.ErrClosing) || ctx.Err() != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		client.Close()
		wg.Wait()
	})
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("no subscription confirmation from redis")
	}
}

func TestRunRedisRawPublish(t *testing.T) {
	addr := redistest.Start(t).Addr()
	d := startFake(t, 2, "")
	cfg := testConfig(d)
	cfg.Topics = 4
	cfg.RedisAddr = addr
	cfg.Rate = 400
	cfg.PayloadBytes = 300
	names := make([]string, cfg.Topics)
	for k := range names {
		names[k] = cfg.TopicPrefix + strconv.Itoa(k)
	}
	bridgeRedis(t, d.broker, addr, names)
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Publish.Via != "redis" {
		t.Fatalf("via %q", rep.Publish.Via)
	}
	checkCleanRun(t, rep, cfg)
}
