package client

import (
	"net/http"
	"time"
)

// Option configures a Publisher or a Subscription.
type Option func(*config)

type config struct {
	httpClient  *http.Client
	token       string
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	lastEventID string
}

func newConfig(opts []Option) config {
	c := config{
		httpClient:  http.DefaultClient,
		maxAttempts: 10,
		minBackoff:  100 * time.Millisecond,
		maxBackoff:  10 * time.Second,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = c.minBackoff
	}
	return c
}

// WithHTTPClient sets the HTTP client (default http.DefaultClient). For a
// Subscription its Timeout must be zero: it would cut the stream.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithToken sends "Authorization: Bearer <token>": a publish token, or a
// subscriber JWT when the gateway runs with SSEGATE_SUBSCRIBE_AUTH=jwt.
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithMaxAttempts sets how many times a Publisher tries one event before it
// returns the last error (default 10); n <= 0 means until the context ends.
// A Subscription always reconnects until its context ends or the gateway
// refuses it with a 4xx.
func WithMaxAttempts(n int) Option {
	return func(c *config) { c.maxAttempts = n }
}

// WithBackoff sets the first and the longest wait between attempts
// (defaults 100 ms and 10 s). Waits double after each failure and are
// jittered; a Retry-After from the server is waited in full even when it is
// longer.
func WithBackoff(first, longest time.Duration) Option {
	return func(c *config) { c.minBackoff, c.maxBackoff = first, longest }
}

// WithLastEventID starts a Subscription from a position saved earlier (an
// event's ID or Subscription.LastEventID), as a reconnecting browser does.
func WithLastEventID(id string) Option {
	return func(c *config) { c.lastEventID = id }
}
