package redisbroker_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
)

// startSentinel runs a redis-sentinel monitoring primary as master set
// "mymaster" (quorum 1, down after 1 s) and returns its address; cleanup
// kills it. Without REQUIRE_SENTINEL=1 (which make test sets, and
// scripts/test-deps.sh installs redis-sentinel for) the test is skipped.
func startSentinel(t *testing.T, primary string) string {
	t.Helper()
	if os.Getenv("REQUIRE_SENTINEL") != "1" {
		t.Skip("set REQUIRE_SENTINEL=1 (and install redis-sentinel) to run the Sentinel test")
	}
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		t.Fatalf("REQUIRE_SENTINEL=1 but no redis-sentinel: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return redistest.StartSentinel(t, bin, port, primary)
}

// TestSentinelFailover runs the broker through Sentinel: after the primary
// dies and Sentinel promotes the replica, the subscription comes back on
// the new primary with Resubscribed, and publishes succeed again.
func TestSentinelFailover(t *testing.T) {
	primary := redistest.Start(t)
	replica := redistest.Start(t)
	host, port, _ := net.SplitHostPort(primary.Addr())
	replica.Do(t, "REPLICAOF", host, port)
	eventually(t, "replica linked", func() bool {
		r := replica.DoSlice(t, "ROLE")
		return len(r) > 3 && r[3] == "connected"
	})
	sentinel := startSentinel(t, primary.Addr())
	eventually(t, "sentinel found the replica", func() bool {
		r, err := redistest.Exec(context.Background(), sentinel, "SENTINEL", "REPLICAS", "mymaster")
		return err == nil && len(r.Elems) == 1
	})
	b, err := redisbroker.New(redisbroker.Options{URL: "redis://" + sentinel, SentinelMaster: "mymaster"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(b.Close)
	s := run(t, b)
	const topic = "sentinel"
	if err := b.Subscribe(ctxT(t), []string{topic}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if n := primary.NumSub(t, topic); n != 1 {
		t.Fatalf("NUMSUB on the primary = %d, want 1", n)
	}
	primary.Stop(t)
	if r := s.next(t, 3*wait); !r.resub || r.topic != topic {
		t.Fatalf("sink got %+v, want Resubscribed(%s) after the failover", r, topic)
	}
	if role := replica.DoSlice(t, "ROLE")[0]; role != "master" {
		t.Fatalf("the replica is %s after the failover, want master", role)
	}
	eventually(t, "subscribed on the promoted replica", func() bool { return replica.NumSub(t, topic) == 1 })
	eventually(t, "a publish succeeds", func() bool {
		_, err := b.Publish(ctxT(t), broker.PublishRequest{Topic: topic, Data: []byte("after"), AcceptedAt: time.Now()})
		if err != nil && !errors.Is(err, broker.ErrUnavailable) {
			t.Fatalf("publish during failover: %v, want ErrUnavailable", err)
		}
		return err == nil
	})
	if r := s.next(t, wait); r.resub || !bytes.HasSuffix(r.payload, []byte("\nafter")) {
		t.Fatalf("sink got %+v, want the event published after the failover", r)
	}
}
