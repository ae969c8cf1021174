package loadgen

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// startRedis runs a real redis-server on a free loopback port.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install -y redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning", "--dir", t.TempDir())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waited
	})
	// Wait (bounded) until it accepts connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v", addr, err)
		}
		select {
		case <-waited:
			t.Fatal("redis-server exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

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
	addr := startRedis(t)
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
