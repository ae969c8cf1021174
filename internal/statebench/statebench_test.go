package statebench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/loadgen"
	"github.com/ssegate/ssegate/internal/redistest"
	pubprog "github.com/ssegate/ssegate/publisher"
	"github.com/ssegate/ssegate/test/harness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunSmall runs the whole tool at a small size against a real Redis,
// publisher and gateway, so that it cannot rot: every client gets the
// whole state, the gateway's Redis commands are counted, and both publish
// modes publish.
func TestRunSmall(t *testing.T) {
	redis := redistest.Start(t)
	pub := harness.StartPublisher(t, pubprog.ProgramConfig{RedisURL: redis.URL()})
	g := harness.StartGateway(t, gateway.ProgramConfig{RedisURL: redis.URL()})

	cfg := DefaultConfig()
	cfg.GatewayURL, cfg.PublishURL, cfg.RedisAddr = g.URL, pub.URL+"/v1/events", redis.Addr()
	cfg.Keys, cfg.Clients, cfg.Workers, cfg.Phases, cfg.PhaseLength, cfg.Baseline = 40, 25, 2, 2, 300*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", out.String())

	s := rep.State
	if s.Complete != cfg.Clients || s.Failed != 0 || s.AllComplete <= 0 || s.Events != int64(cfg.Keys*cfg.Clients) {
		t.Errorf("state %+v, want %d complete clients with %d events each", s, cfg.Clients, cfg.Keys)
	}
	if total(rep.Commands) == 0 || rep.Commands["info"] != 0 {
		t.Errorf("redis commands %v, want the gateway's and not the tool's INFO", rep.Commands)
	}
	for _, m := range rep.Publish {
		if m.Published == 0 || m.Failed != 0 || m.P99 <= 0 || m.PerSecond <= 0 {
			t.Errorf("publish %+v, want successes only", m)
		}
	}
	if !rep.Publish[1].Keyed || rep.Publish[0].Keyed {
		t.Errorf("publish modes %+v, want [without key, with key]", rep.Publish)
	}
	keys, err := strconv.Atoi(redis.Do(t, "HLEN", "ssegate:{"+cfg.PublishTopic+"}:state"))
	if want := min(cfg.Keys, int(rep.Publish[1].Published)); err != nil || keys < want {
		t.Errorf("publish topic's state has %d keys (%v), want at least %d: keyed publishes record keys", keys, err, want)
	}
}

// TestScanToMarker counts the events before the marker and reads it.
func TestScanToMarker(t *testing.T) {
	stream := "retry: 1000\n: ok\n\nid: 1-0\ndata: {\"a\":1}\n\nid: 2-0\nevent: removed\ndata: x\ndata: y\n\n" +
		"id: 2-0\nevent: state\ndata: {\"position\":\"2-0\",\"keys\":2}\n\nid: 3-0\ndata: live\n\n"
	var r clientResult
	m, err := scanToMarker(bufio.NewReader(strings.NewReader(stream)), &r)
	if err != nil || m.Keys != 2 || m.Position != "2-0" || r.events != 2 {
		t.Fatalf("marker %+v, %d events, %v; want keys 2 at 2-0 after 2 events", m, r.events, err)
	}
	_, err = scanToMarker(bufio.NewReader(strings.NewReader("data: 1\n\n")), &clientResult{})
	if err == nil {
		t.Fatal("a stream that ends before its marker: no error")
	}
}

// TestCommandDelta reads INFO commandstats and takes the tool's INFO off.
func TestCommandDelta(t *testing.T) {
	before := parseCommandStats("# Commandstats\r\ncmdstat_info:calls=3,usec=1\r\ncmdstat_xrange:calls=5,usec=9,usec_per_call=1.8\r\n")
	after := parseCommandStats("# Commandstats\r\ncmdstat_info:calls=4,usec=1\r\ncmdstat_xrange:calls=7,usec=9\r\ncmdstat_evalsha:calls=1,usec=2\r\ncmdstat_ping:calls=0\r\n")
	d := commandDelta(before, after)
	if len(d) != 2 || d["xrange"] != 2 || d["evalsha"] != 1 {
		t.Fatalf("delta %v, want xrange 2 and evalsha 1", d)
	}
	if got := breakdown(d); got != "xrange 2, evalsha 1" {
		t.Fatalf("breakdown %q", got)
	}
}

// TestValidate refuses targets off loopback and odd phase counts.
func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"remote gateway": func(c *Config) { c.GatewayURL = "http://10.0.0.1:8080" },
		"remote redis":   func(c *Config) { c.RedisAddr = "example.com:6379" },
		"odd phases":     func(c *Config) { c.Phases = 3 },
		"same topics":    func(c *Config) { c.PublishTopic = c.Topic },
		"no keys":        func(c *Config) { c.Keys = 0 },
	} {
		c := DefaultConfig()
		mut(&c)
		err := c.Validate()
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
		if strings.HasPrefix(name, "remote") && !errors.Is(err, loadgen.ErrNotLoopback) {
			t.Errorf("%s: %v, want ErrNotLoopback", name, err)
		}
	}
}
