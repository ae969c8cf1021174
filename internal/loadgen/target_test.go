package loadgen

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestCheckLoopbackURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want error // nil, ErrNotLoopback, or errAny
	}{
		{"http://127.0.0.1:8080", nil},
		{"http://127.1.2.3:8080/api/sse/stream", nil},
		{"http://localhost:8080", nil},
		{"http://LOCALHOST", nil},
		{"http://[::1]:8080", nil},
		{"http://[::ffff:127.0.0.1]:8080", nil},
		{"http://10.0.0.1:8080", ErrNotLoopback},
		{"http://0.0.0.0:8080", ErrNotLoopback},
		{"http://example.com:8080", ErrNotLoopback},
		{"http://localhost.example.com", ErrNotLoopback},
		{"http://[2001:db8::1]:8080", ErrNotLoopback},
		{"http://192.168.1.10", ErrNotLoopback},
		{"https://127.0.0.1", errAny},
		{"http://127.0.0.1:99999", errAny},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			err := CheckLoopbackURL(tc.url)
			switch {
			case tc.want == nil:
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
			case errors.Is(tc.want, errAny):
				if err == nil {
					t.Fatal("no error")
				}
			default:
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			}
		})
	}
}

var errAny = errors.New("any error")

// TestRunRefusesNonLoopback checks that Run refuses every kind of
// non-loopback target before it opens anything.
func TestRunRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(c *Config)
	}{
		{"gateway", func(c *Config) { c.GatewayURLs = []string{"http://10.1.2.3:8080"} }},
		{"second gateway", func(c *Config) { c.GatewayURLs = []string{"http://127.0.0.1:8080", "http://example.org"} }},
		{"publisher", func(c *Config) { c.PublishURL = "http://192.0.2.1:8081/v1/events" }},
		{"redis", func(c *Config) { c.RedisAddr = "192.0.2.1:6379" }},
		{"metrics", func(c *Config) { c.MetricsURLs = []string{"http://198.51.100.1:8080/metrics"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.Conns = 1
			tc.mod(&cfg)
			rep, err := Run(context.Background(), cfg)
			if !errors.Is(err, ErrNotLoopback) {
				t.Fatalf("err = %v, want ErrNotLoopback", err)
			}
			if rep != nil {
				t.Fatal("got a report")
			}
		})
	}
}

func TestConfigLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(c *Config)
	}{
		{"conns over cap", func(c *Config) { c.Conns, c.MaxConns = 11, 10 }},
		{"duration too long", func(c *Config) { c.Duration = MaxDuration + 1 }},
		{"zero rate", func(c *Config) { c.Rate = 0 }},
		{"topics per conn > topics", func(c *Config) { c.Topics, c.TopicsPerConn = 2, 3 }},
		{"bad mode", func(c *Config) { c.Mode = "storm" }},
		{"more conns than descriptors", func(c *Config) { c.Conns, c.MaxConns = 5_000_000, 5_000_000 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			tc.mod(&cfg)
			if _, err := Run(context.Background(), cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSourceAddr(t *testing.T) {
	t.Parallel()
	v4 := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		target netip.Addr
		i, per int
		want   string
	}{
		{v4, 0, 100, "127.0.0.2"},
		{v4, 99, 100, "127.0.0.2"},
		{v4, 100, 100, "127.0.0.3"},
		{v4, 254 * 100, 100, "127.0.1.0"},
		{v4, 5, 0, "invalid IP"},
		{netip.MustParseAddr("::1"), 5, 100, "invalid IP"},
	}
	for _, tc := range tests {
		if got := sourceAddr(tc.target, tc.i, tc.per).String(); got != tc.want {
			t.Errorf("sourceAddr(%v, %d, %d) = %s, want %s", tc.target, tc.i, tc.per, got, tc.want)
		}
	}
}

func TestRequestBytes(t *testing.T) {
	t.Parallel()
	gws, err := parseGateways("http://127.0.0.1:8080, http://localhost:9000/custom?x=1")
	if err != nil {
		t.Fatal(err)
	}
	got := string(gws[0].requestBytes(nil, []string{"bench:1", "a b"}, nil))
	want := "GET /api/sse/stream?topic=bench%3A1&topic=a+b HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: ssebench\r\n\r\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	got = string(gws[1].requestBytes(nil, []string{"t"}, nil))
	if want := "GET /custom?x=1&topic=t HTTP/1.1\r\nHost: localhost:9000\r\n"; got[:len(want)] != want {
		t.Fatalf("got %q", got)
	}
	if gws[1].addr.String() != "127.0.0.1:9000" {
		t.Fatalf("addr %s", gws[1].addr)
	}
}
