package statebench

import (
	"errors"
	"fmt"
	"time"

	"github.com/ssegate/ssegate/internal/loadgen"
)

// Config is one run. The zero value is not valid: start from DefaultConfig.
type Config struct {
	// GatewayURL is the gateway's base URL (http://127.0.0.1:8080).
	GatewayURL string
	// PublishURL is the publisher's POST /v1/events URL.
	PublishURL string
	// RedisAddr is host:port of the Redis the gateway uses, read with
	// INFO commandstats; empty skips the command count.
	RedisAddr string
	// Topic receives the Keys seeded events; PublishTopic the publish-cost
	// phase's events (a different topic, so the state read stays Keys).
	Topic, PublishTopic string
	// Keys is the size of the state; Clients the streams opened at once.
	Keys, Clients int
	// SeedWorkers publish the seed concurrently.
	SeedWorkers int
	// StateTimeout bounds the connect phase (every marker received).
	StateTimeout time.Duration
	// Workers are the publish-cost phase's concurrent publishers; Phases the
	// number of phases (even: as many with a key as without) of PhaseLength.
	Workers, Phases int
	PhaseLength     time.Duration
	// PayloadBytes pads each event's data to about this size.
	PayloadBytes int
	// Baseline is an idle window before the release over which Redis's
	// commands are counted too: what the gateway sends anyway (its
	// connections' health PINGs), to tell from what the clients cost.
	Baseline time.Duration
}

// DefaultConfig is the size: 1,000 clients, 5,000 keys.
func DefaultConfig() Config {
	return Config{
		GatewayURL:   "http://127.0.0.1:8080",
		PublishURL:   "http://127.0.0.1:8081/v1/events",
		Topic:        "statebench:state",
		PublishTopic: "statebench:publish",
		Keys:         5000,
		Clients:      1000,
		SeedWorkers:  16,
		StateTimeout: 2 * time.Minute,
		Workers:      16,
		Phases:       6,
		PhaseLength:  5 * time.Second,
		PayloadBytes: 150,
		Baseline:     2 * time.Second,
	}
}

// ErrConfig is wrapped by every validation error.
var ErrConfig = errors.New("invalid config")

// Validate checks the limits and that every target is on loopback.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.Keys < 1 || c.Keys > 100_000:
		return bad("keys %d: want 1…100000", c.Keys)
	case c.Clients < 1 || c.Clients > 10_000:
		return bad("clients %d: want 1…10000 (one goroutine and socket each)", c.Clients)
	case c.SeedWorkers < 1 || c.Workers < 1 || c.SeedWorkers > 256 || c.Workers > 256:
		return bad("workers: want 1…256")
	case c.Phases < 0 || c.Phases%2 != 0 || c.Phases > 100:
		return bad("phases %d: want an even number ≤ 100", c.Phases)
	case c.PhaseLength <= 0 || c.PhaseLength > 5*time.Minute:
		return bad("phase length %v: want (0, 5m]", c.PhaseLength)
	case c.StateTimeout <= 0 || c.StateTimeout > 30*time.Minute:
		return bad("state timeout %v: want (0, 30m]", c.StateTimeout)
	case c.Baseline < 0 || c.Baseline > time.Minute:
		return bad("baseline %v: want [0, 1m]", c.Baseline)
	case c.PayloadBytes < 0 || c.PayloadBytes > 60_000:
		return bad("payload %d bytes: want 0…60000", c.PayloadBytes)
	case c.Topic == "" || c.PublishTopic == "" || c.Topic == c.PublishTopic:
		return bad("topics %q and %q: want two different names", c.Topic, c.PublishTopic)
	}
	for _, u := range []string{c.GatewayURL, c.PublishURL} {
		if err := loadgen.CheckLoopbackURL(u); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if c.RedisAddr != "" {
		if err := loadgen.CheckLoopbackHostPort(c.RedisAddr); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return nil
}
