package loadgen

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"
)

// Mode selects what a run does once its connections are open.
type Mode string

const (
	// ModeStream publishes events at Config.Rate and measures their delivery.
	ModeStream Mode = "stream"
	// ModeIdle only holds the connections for Config.Duration, to measure
	// what an idle stream costs the gateway.
	ModeIdle Mode = "idle"
	// ModeStorm is a reconnect storm: the connections are opened on
	// GatewayURLs and events published as in ModeStream; after Duration the
	// process KillPID (gateway A) is killed with SIGKILL and every connection
	// reconnects to StormURLs with its Last-Event-ID (see storm.go).
	ModeStorm Mode = "storm"
)

// publishes reports whether the mode publishes events.
func (m Mode) publishes() bool { return m == ModeStream || m == ModeStorm }

// Hard limits that keep a run bounded whatever the flags say.
const (
	// MaxDuration is the longest -duration (and idle hold) accepted.
	MaxDuration = time.Hour
	// MaxAuxDuration bounds -warmup and -drain.
	MaxAuxDuration = 5 * time.Minute
	// MaxTopics bounds -topics.
	MaxTopics = 1 << 20
	// MaxRate bounds -rate (events per second).
	MaxRate = 10_000_000
	// MaxPayloadBytes bounds -payload-bytes, well below MaxEventBytes.
	MaxPayloadBytes = 256 << 10
)

// Config describes one benchmark run. Start from DefaultConfig.
type Config struct {
	// GatewayURLs are the gateways to open streams on (http://host:port or a
	// full stream URL); connections are spread round-robin. Every host must
	// be loopback.
	GatewayURLs []string
	// Conns is the number of SSE connections to open.
	Conns int
	// MaxConns is a hard cap on Conns, a guard against typos.
	MaxConns int
	// Mode is ModeStream, ModeIdle or ModeStorm.
	Mode Mode
	// Topics is the number of topics (TopicPrefix+"0" … +"K-1").
	Topics int
	// TopicsPerConn is how many topics each connection subscribes.
	TopicsPerConn int
	// TopicPrefix names the topics.
	TopicPrefix string

	// Rate is the publish rate in events per second (all topics together).
	Rate float64
	// Duration is the steady publish phase (ModeStream) or the hold time
	// (ModeIdle).
	Duration time.Duration
	// Warmup publishes at Rate before the measured phase; latency samples
	// of warmup events are not recorded.
	Warmup time.Duration
	// Drain is the longest wait after publishing for in-flight events. It
	// ends early once every expected event has arrived.
	Drain time.Duration

	// PublishURL is the publisher's POST /v1/events URL.
	PublishURL string
	// PublishToken, when set, is sent as "Authorization: Bearer <token>".
	PublishToken string
	// Publishers is the number of concurrent publishing clients.
	Publishers int
	// RedisAddr, when set, publishes with raw Redis PUBLISH (via rueidis)
	// instead of the HTTP publisher. Such events carry no id.
	RedisAddr string
	// PayloadBytes pads each event's data JSON to about this many bytes.
	PayloadBytes int
	// EventType is the optional "type" of published events (HTTP only).
	EventType string

	// ConnectConcurrency is how many connections are being opened at once.
	ConnectConcurrency int
	// ConnectTimeout bounds one connection's dial + response headers.
	ConnectTimeout time.Duration
	// ConnsPerAddr is how many connections use one source address
	// (127.0.0.2, then 127.0.0.3, …); 0 lets the kernel choose.
	ConnsPerAddr int
	// Readers is the number of epoll reader goroutines.
	Readers int

	// PIDs are gateway processes whose RSS and CPU are sampled from /proc.
	PIDs []int
	// MetricsURLs are gateway /metrics URLs to scrape (summed).
	MetricsURLs []string

	// Storm holds the settings of ModeStorm.
	Storm StormConfig

	// Progress, when non-nil, receives a progress line every
	// ProgressInterval.
	Progress io.Writer
	// ProgressInterval defaults to one second.
	ProgressInterval time.Duration
	// ProgressTTY makes progress lines overwrite each other ("\r") instead
	// of one line each.
	ProgressTTY bool
}

// DefaultConfig returns the defaults documented in docs/ssebench.md.
func DefaultConfig() Config {
	readers := runtime.GOMAXPROCS(0)
	if readers > 4 {
		readers = 4
	}
	return Config{
		GatewayURLs:        []string{"http://127.0.0.1:8080"},
		Conns:              1000,
		MaxConns:           50_000,
		Mode:               ModeStream,
		Topics:             1,
		TopicsPerConn:      1,
		TopicPrefix:        "bench:",
		Rate:               10,
		Duration:           10 * time.Second,
		Drain:              2 * time.Second,
		PublishURL:         "http://127.0.0.1:8081/v1/events",
		Publishers:         16,
		ConnectConcurrency: 200,
		ConnectTimeout:     10 * time.Second,
		ConnsPerAddr:       20_000,
		Readers:            readers,
		ProgressInterval:   time.Second,
		Storm:              defaultStormConfig(),
	}
}

// validate checks the limits and the loopback rule.
func (c *Config) validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Mode != ModeStream && c.Mode != ModeIdle && c.Mode != ModeStorm {
		add("mode %q: want stream, idle or storm", c.Mode)
	}
	if c.Mode == ModeStorm {
		errs = append(errs, c.validateStorm()...)
	}
	if c.MaxConns < 1 {
		add("max-conns %d: must be positive", c.MaxConns)
	}
	if c.Conns < 1 || c.Conns > c.MaxConns {
		add("conns %d: must be between 1 and max-conns (%d)", c.Conns, c.MaxConns)
	}
	if c.Topics < 1 || c.Topics > MaxTopics {
		add("topics %d: must be between 1 and %d", c.Topics, MaxTopics)
	}
	if c.TopicsPerConn < 1 || c.TopicsPerConn > c.Topics || c.TopicsPerConn > 64 {
		add("topics-per-conn %d: must be between 1 and min(topics, 64)", c.TopicsPerConn)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		add("duration %v: must be in (0, %v]", c.Duration, MaxDuration)
	}
	if c.Warmup < 0 || c.Warmup > MaxAuxDuration {
		add("warmup %v: must be in [0, %v]", c.Warmup, MaxAuxDuration)
	}
	if c.Drain < 0 || c.Drain > MaxAuxDuration {
		add("drain %v: must be in [0, %v]", c.Drain, MaxAuxDuration)
	}
	if c.ConnectConcurrency < 1 || c.ConnectConcurrency > 10_000 {
		add("connect-concurrency %d: must be between 1 and 10000", c.ConnectConcurrency)
	}
	if c.ConnectTimeout <= 0 || c.ConnectTimeout > time.Minute {
		add("connect-timeout %v: must be in (0, 1m]", c.ConnectTimeout)
	}
	if c.ConnsPerAddr < 0 {
		add("conns-per-addr %d: must not be negative", c.ConnsPerAddr)
	}
	if c.Readers < 1 || c.Readers > 64 {
		add("readers %d: must be between 1 and 64", c.Readers)
	}
	if c.Mode.publishes() {
		if c.Rate <= 0 || c.Rate > MaxRate {
			add("rate %v: must be in (0, %d]", c.Rate, MaxRate)
		}
		if c.Publishers < 1 || c.Publishers > 1024 {
			add("publishers %d: must be between 1 and 1024", c.Publishers)
		}
		if c.PayloadBytes < 0 || c.PayloadBytes > MaxPayloadBytes {
			add("payload-bytes %d: must be between 0 and %d", c.PayloadBytes, MaxPayloadBytes)
		}
		if c.RedisAddr != "" {
			if err := CheckLoopbackHostPort(c.RedisAddr); err != nil {
				errs = append(errs, fmt.Errorf("redis-addr: %w", err))
			}
		} else if err := CheckLoopbackURL(c.PublishURL); err != nil {
			errs = append(errs, fmt.Errorf("publish-url: %w", err))
		}
	}
	for _, u := range c.MetricsURLs {
		if err := CheckLoopbackURL(u); err != nil {
			errs = append(errs, fmt.Errorf("metrics-url: %w", err))
		}
	}
	for _, pid := range c.PIDs {
		if pid <= 0 {
			add("pid %d: must be positive", pid)
		}
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	return errors.Join(errs...)
}
