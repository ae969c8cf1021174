package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// testConfig is a small, fast run against d.
func testConfig(d *fakeDeployment) Config {
	cfg := DefaultConfig()
	cfg.GatewayURLs = d.gatewayURL
	cfg.MetricsURLs = d.metricsURL
	cfg.PublishURL = d.publisher.URL + "/v1/events"
	cfg.Conns = 200
	cfg.ConnsPerAddr = 50 // 127.0.0.2 … 127.0.0.5
	cfg.ConnectConcurrency = 32
	cfg.Readers = 2
	cfg.Publishers = 16
	cfg.Rate = 200
	cfg.Duration = time.Second
	cfg.Drain = 5 * time.Second // ends early once everything arrived
	cfg.PIDs = []int{os.Getpid()}
	return cfg
}

func TestRunEndToEnd(t *testing.T) {
	tests := []struct {
		name     string
		gateways int
		token    string
		mod      func(c *Config)
	}{
		{name: "one gateway, four topics", gateways: 1, mod: func(c *Config) { c.Topics = 4 }},
		{name: "two gateways, two topics per connection", gateways: 2, mod: func(c *Config) {
			c.Topics, c.TopicsPerConn = 4, 2
		}},
		{name: "uneven spread", gateways: 1, mod: func(c *Config) {
			c.Topics, c.TopicsPerConn, c.Rate = 3, 2, 190
		}},
		{name: "warmup, padding, event type, token", gateways: 1, token: "s3cret", mod: func(c *Config) {
			c.Topics = 2
			c.Warmup = 300 * time.Millisecond
			c.PayloadBytes = 700
			c.EventType = "bench"
			c.PublishToken = "s3cret"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := startFake(t, tc.gateways, tc.token)
			cfg := testConfig(d)
			var progress bytes.Buffer
			cfg.Progress = &progress
			cfg.ProgressInterval = 200 * time.Millisecond
			tc.mod(&cfg)
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkCleanRun(t, rep, cfg)
			if rep.Metrics == nil || rep.Metrics.Error != "" || rep.Metrics.Connected.Connections != float64(cfg.Conns) {
				t.Errorf("metrics %+v", rep.Metrics)
			}
			if got := rep.Metrics.DeliveredDelta; got != float64(rep.Delivery.Received) {
				t.Errorf("gateway delivered %v, we received %d", got, rep.Delivery.Received)
			}
			if len(rep.Processes) != 1 || rep.Processes[0].Error != "" || rep.Processes[0].End.RSSKB <= 0 {
				t.Errorf("processes %+v", rep.Processes)
			}
			if !strings.Contains(progress.String(), "conns 200/200") {
				t.Errorf("progress output %q", progress.String())
			}
			var text, js bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"expected deliveries", "missing (gaps)", "duplicates", "latency pub→recv", "connect time"} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("text report lacks %q:\n%s", want, text.String())
				}
			}
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Delivery.Delivered != rep.Delivery.Delivered {
				t.Errorf("JSON round trip: %v", err)
			}
			t.Logf("report:\n%s", text.String())
		})
	}
}

// checkCleanRun asserts a run where everything was delivered exactly once.
func checkCleanRun(t *testing.T, rep *Report, cfg Config) {
	t.Helper()
	c := rep.Connections
	if c.Failed != 0 || c.HeldAfterConnect != cfg.Conns || c.HeldAtEnd != cfg.Conns || c.Dropped != 0 {
		t.Fatalf("connections %+v", c)
	}
	if c.ConnectTime.Count != uint64(cfg.Conns) || c.ConnectTime.MaxMs <= 0 {
		t.Errorf("connect time %+v", c.ConnectTime)
	}
	if c.Pings < uint64(cfg.Conns) {
		t.Errorf("pings %d", c.Pings)
	}
	p := rep.Publish
	if p.Failed != 0 || p.Accepted == 0 || p.Accepted != p.Attempted {
		t.Fatalf("publish %+v", p)
	}
	// On a loaded machine the publishers may fall behind; what was due but
	// not sent is accounted for, never silently lost.
	wantPublished := uint64(cfg.Rate * (cfg.Duration + cfg.Warmup).Seconds())
	if p.Attempted+p.NotSent != wantPublished {
		t.Errorf("published %d + not sent %d, want %d", p.Attempted, p.NotSent, wantPublished)
	}
	d := rep.Delivery
	if d.Expected == 0 || d.Delivered != d.Expected || d.Missing != 0 || d.Duplicates != 0 ||
		d.SeqGaps != 0 || d.IDViolations != 0 || d.Unexpected != 0 || d.OtherEvents != 0 || d.Late != 0 {
		t.Fatalf("delivery %+v", d)
	}
	// Evenly spread topics and events: every connection expects its share.
	even := cfg.Conns%cfg.Topics == 0 && p.Accepted%uint64(cfg.Topics) == 0 && p.NotSent == 0
	wantExpected := p.Accepted * uint64(cfg.Conns) * uint64(cfg.TopicsPerConn) / uint64(cfg.Topics)
	if even && d.Expected != wantExpected {
		t.Errorf("expected %d, want %d", d.Expected, wantExpected)
	}
	if rep.Latency == nil || rep.Latency.Count == 0 || rep.Latency.P50Ms <= 0 || rep.Latency.MaxMs < rep.Latency.P99Ms {
		t.Errorf("latency %+v", rep.Latency)
	}
	if cfg.Warmup > 0 && rep.Latency.Count >= d.Delivered {
		t.Errorf("warmup events were measured: %d samples of %d", rep.Latency.Count, d.Delivered)
	}
}

func TestRunIdle(t *testing.T) {
	d := startFake(t, 1, "")
	cfg := testConfig(d)
	cfg.Mode = ModeIdle
	cfg.Conns = 100
	cfg.Duration = 300 * time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Connections.HeldAtEnd != 100 || rep.Connections.Failed != 0 {
		t.Fatalf("connections %+v", rep.Connections)
	}
	if rep.Publish != nil || rep.Delivery != nil {
		t.Fatal("idle run published")
	}
	if rep.Processes[0].Connected.RSSKB <= 0 || rep.Self.End.RSSKB <= 0 {
		t.Fatalf("no RSS: %+v", rep.Processes)
	}
}

func TestRunConnectFailures(t *testing.T) {
	d := startFake(t, 1, "")
	tests := []struct {
		name   string
		url    string
		reason string
	}{
		{"not an SSE route", d.gatewayURL[0] + "/nowhere", "http_404"},
		{"nothing listening", "http://127.0.0.1:1", "dial"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(d)
			cfg.GatewayURLs = []string{tc.url}
			cfg.Conns = 5
			cfg.Mode = ModeIdle
			cfg.Duration = 10 * time.Millisecond
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Connections.Failed != 5 || rep.Connections.FailReasons[tc.reason] != 5 {
				t.Fatalf("connections %+v", rep.Connections)
			}
		})
	}
}

func TestRunPublishUnauthorized(t *testing.T) {
	d := startFake(t, 1, "right")
	cfg := testConfig(d)
	cfg.Conns = 10
	cfg.Duration = 200 * time.Millisecond
	cfg.Drain = 100 * time.Millisecond
	cfg.PublishToken = "wrong"
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Publish.Accepted != 0 || rep.Publish.ErrorReasons["http_401"] == 0 || rep.Delivery.Expected != 0 {
		t.Fatalf("publish %+v delivery %+v", rep.Publish, rep.Delivery)
	}
}

// TestRunDroppedByServer closes the fake gateway's streams mid-run: drops
// are counted and expectations frozen at the drop.
func TestRunInterrupted(t *testing.T) {
	d := startFake(t, 1, "")
	cfg := testConfig(d)
	cfg.Conns = 20
	cfg.Duration = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Progress = cancelAfterWriter{cancel}
	cfg.ProgressInterval = 100 * time.Millisecond
	start := time.Now()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.Interrupted || time.Since(start) > 20*time.Second {
		t.Fatalf("interrupted %v after %v", rep.Interrupted, time.Since(start))
	}
}

// cancelAfterWriter cancels the run at the first progress line.
type cancelAfterWriter struct{ cancel context.CancelFunc }

func (w cancelAfterWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("steady")) {
		w.cancel()
	}
	return len(p), nil
}
