package cluster

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redistest"
	"github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

// TestSecuredCluster: a Cluster whose every node requires a password and
// has the two users README.md documents (exactly their rules), with
// sharded pub/sub. The publisher reads its password from a file, the
// gateway has it in the URL; events on topics of several slots reach
// their streams.
func TestSecuredCluster(t *testing.T) {
	const password = "cluster-password-0123456789"
	c := redistest.StartCluster(t, 3, 0)
	for _, n := range c.Nodes() {
		for user, rule := range map[string]string{"ssegate-publisher": redisbroker.PublisherACL, "ssegate-gateway": redisbroker.GatewayACL} {
			n.Do(t, append([]string{"ACL", "SETUSER", user, "reset", "on", ">" + password}, strings.Fields(rule)...)...)
		}
	}
	for _, n := range c.Nodes() { // last: the node helpers do not authenticate
		n.Do(t, "CONFIG", "SET", "requirepass", password)
	}
	file := filepath.Join(t.TempDir(), "redis-password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seeds := strings.TrimPrefix(c.URL(), "redis://")
	pub := harness.StartPublisher(t, publisher.ProgramConfig{RedisURL: "redis://ssegate-publisher@" + seeds, Sharded: true,
		RedisSecurity: redisbroker.Security{PasswordFile: file}})
	gw := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: "redis://ssegate-gateway:" + password + "@" + seeds, Sharded: true})
	harness.WaitHTTP(t, gw.URL+"/readyz", http.StatusOK)
	topics := []string{"secured:a", "secured:b", "secured:c", "secured:d", "secured:e", "secured:f"}
	streams := make([]*harness.Stream, len(topics))
	for i, topic := range topics {
		streams[i] = harness.Subscribe(t, gw.URL+"/api/sse/stream?topic="+topic, nil)
	}
	for i, topic := range topics {
		res := harness.PublishEvent(t, pub.URL, topic, i)
		if ev := streams[i].MustNext(t, waitFor); ev.ID != res.ID {
			t.Fatalf("%s: got id %q, want %q", topic, ev.ID, res.ID)
		}
	}
}
