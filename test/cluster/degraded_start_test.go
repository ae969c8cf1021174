package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// TestStartWithClusterDown: a gateway and a publisher started while every
// node of the cluster is down answer health 200 and 503s; once the nodes
// come back (same ports, same nodes.conf) they find the cluster, become
// ready and deliver events on every shard, with classic and with sharded
// pub/sub. Before the services started degraded, NewProgram failed.
func TestStartWithClusterDown(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	for _, sharded := range []bool{false, true} {
		t.Run(fmt.Sprintf("sharded=%v", sharded), func(t *testing.T) {
			for _, n := range c.Nodes() {
				n.Kill(t)
			}
			pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: c.URL(), Sharded: sharded,
				ShutdownGrace: 5 * time.Second, Config: publisher.Config{PublishTimeout: 3 * time.Second}})
			gw := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: c.URL(), Sharded: sharded, ShutdownGrace: 5 * time.Second})
			for _, base := range []string{gw.URL, pub.URL} {
				wantStatus(t, base+"/healthz", http.StatusOK)
				wantStatus(t, base+"/readyz", http.StatusServiceUnavailable)
			}
			wantStatus(t, gw.URL+"/api/sse/stream?topic=down", http.StatusServiceUnavailable)
			if r := harness.Post(t, pub.URL+"/v1/events", map[string]any{"topic": "down", "data": 0}); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
				t.Fatalf("publish while the cluster is down: %d %s (Retry-After %q), want 503 with Retry-After", r.Status, r.Body, r.Header.Get("Retry-After"))
			}

			for _, n := range c.Nodes() {
				n.Restart(t)
			}
			for _, base := range []string{gw.URL, pub.URL} {
				eventually(t, base+"/readyz answers 200", func() bool { return status(t, base+"/readyz") == http.StatusOK })
			}
			eventually(t, "every node sees the cluster ok", func() bool { return clusterOK(c) })
			deliverOnEveryShard(t, c, gw, pub)
		})
	}
}

// deliverOnEveryShard subscribes one stream to a topic per shard and sees
// one event published on each arrive.
func deliverOnEveryShard(t *testing.T, c *redistest.Cluster, gw *harness.Gateway, pub *harness.Publisher) {
	t.Helper()
	byShard := map[string]string{}
	for i := 0; len(byShard) < 3 && i < 1000; i++ {
		tp := fmt.Sprintf("degraded:%d", i)
		owner := c.PrimaryForSlot(t, redistest.Slot(tp)).Addr()
		if _, ok := byShard[owner]; !ok {
			byShard[owner] = tp
		}
	}
	url := gw.URL + "/api/sse/stream?"
	for _, tp := range byShard {
		url += "topic=" + tp + "&"
	}
	var s *harness.Stream
	eventually(t, "the stream opens", func() bool {
		s = harness.Open(t, strings.TrimSuffix(url, "&"), nil)
		if s.Resp.StatusCode == http.StatusOK {
			return true
		}
		s.Close()
		return false
	})
	want := map[string]bool{}
	for _, tp := range byShard {
		want[tp] = true
		eventually(t, "a publish to "+tp+" is accepted", func() bool {
			return harness.Post(t, pub.URL+"/v1/events", map[string]any{"topic": tp, "data": tp}).Status == http.StatusAccepted
		})
	}
	for len(want) > 0 {
		ev := s.MustNext(t, waitFor)
		delete(want, strings.Trim(ev.Data, `"`))
	}
}

// clusterOK reports whether every node says cluster_state:ok.
func clusterOK(c *redistest.Cluster) bool {
	for _, n := range c.Nodes() {
		r, err := n.Exec(context.Background(), "CLUSTER", "INFO")
		if err != nil || !strings.Contains(r.String(), "cluster_state:ok") {
			return false
		}
	}
	return true
}

// status is the status code of a GET of url, 0 when it fails.
func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// wantStatus fails the test unless a GET of url answers want.
func wantStatus(t *testing.T, url string, want int) {
	t.Helper()
	if got := status(t, url); got != want {
		t.Fatalf("GET %s: %d, want %d", url, got, want)
	}
}
