package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// streamPath is the gateway's stream route.
const streamPath = "/api/sse/stream"

// defaultTopic is the topic the gateway streams when none is named.
const defaultTopic = "spools:updates"

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("client: subscription closed")

// ErrNotEventStream reports a 200 answer that is not text/event-stream
// (e.g. a proxy's page): reconnecting would not help.
var ErrNotEventStream = errors.New("client: answer is not text/event-stream")

// Subscription is a resumable stream of a gateway's events for a set of
// topics. It connects on the first Next and reconnects by itself. It is not
// safe for concurrent use: one goroutine calls Next (cancel Next's context
// to interrupt it) and then Close.
type Subscription struct {
	url    string
	topics []string // sorted, de-duplicated: the order of multi-topic ids
	cfg    config

	lastID   string        // the position: sent as Last-Event-ID on reconnect
	retry    time.Duration // the server's "retry:" hint
	failures int           // failed connection attempts in a row
	resume   bool          // the next connect follows a stream that ended
	conn     *stream
	closed   bool
}

// Subscribe returns a Subscription to topics (none: the gateway's default
// topic) at baseURL: the gateway's origin, e.g. "http://localhost:8080"
// (the stream route is added), or a full stream URL whose path is not "/".
// It does not connect: Next does.
func Subscribe(baseURL string, topics []string, opts ...Option) (*Subscription, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: gateway URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: gateway URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = streamPath
	}
	q := u.Query()
	for _, t := range topics {
		q.Add("topic", t)
	}
	u.RawQuery = q.Encode()
	sorted := slices.Compact(slices.Sorted(slices.Values(topics)))
	if len(sorted) == 0 {
		sorted = []string{defaultTopic}
	}
	cfg := newConfig(opts)
	return &Subscription{url: u.String(), topics: sorted, cfg: cfg, lastID: cfg.lastEventID}, nil
}

// LastEventID is the position the Subscription resumes from: the id of the
// last event, or the position frame the gateway sent after it. Saving it
// and passing it to WithLastEventID later resumes without gap.
func (s *Subscription) LastEventID() string { return s.lastID }

// Next returns the next event, connecting or reconnecting as needed. It
// returns ctx's error when ctx ends (the connection is dropped then; the
// next call resumes from LastEventID), an *APIError when the gateway
// refuses the stream with a 4xx other than 408 and 429, ErrNotEventStream,
// or ErrClosed.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	for {
		if s.closed {
			return Message{}, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		if s.conn == nil {
			if err := s.reconnect(ctx); err != nil {
				return Message{}, err
			}
			continue
		}
		m, err := s.read(ctx)
		if err == nil {
			return m, nil
		}
		s.drop()
		s.resume = true
	}
}

// Messages returns an iterator over Next's events. It ends after yielding
// the first error (with a zero Message), or when the loop body breaks.
func (s *Subscription) Messages(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for {
			m, err := s.Next(ctx)
			if err != nil {
				yield(Message{}, err)
				return
			}
			if !yield(m, nil) {
				return
			}
		}
	}
}

// Close drops the connection; Next returns ErrClosed afterwards.
func (s *Subscription) Close() error {
	s.closed = true
	s.drop()
	return nil
}

// reconnect waits as a browser does (the "retry:" hint after a stream
// ended, backoff with jitter after failed attempts) and connects once. It
// returns nil after a temporary failure (Next loops) and the error when
// the failure is final or ctx ended.
func (s *Subscription) reconnect(ctx context.Context) error {
	var wait time.Duration
	if s.failures > 0 || s.resume {
		wait = max(s.retry, backoff(s.cfg, max(s.failures, 1), 0))
	}
	if err := sleep(ctx, wait); err != nil {
		return err
	}
	err := s.connect(ctx)
	if err == nil {
		s.failures, s.resume = 0, false
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var apiErr *APIError
	if errors.Is(err, ErrNotEventStream) || errors.As(err, &apiErr) && !apiErr.Temporary() {
		return err
	}
	s.failures++
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		if err := sleep(ctx, apiErr.RetryAfter); err != nil {
			return err
		}
	}
	return nil
}

// checkEventStream verifies a 200 answer's media type.
func checkEventStream(resp *http.Response) error {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "text/event-stream" {
		return fmt.Errorf("%w: Content-Type %q", ErrNotEventStream, resp.Header.Get("Content-Type"))
	}
	return nil
}
