package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SpoolEvent is the old backend's spool update, sent to POST /publish and
// delivered on the topic "spools:updates".
type SpoolEvent struct {
	EventType     string    `json:"event_type"` // TOMAR, PAUSAR, COMPLETAR or STATE_CHANGE
	TagSpool      string    `json:"tag_spool"`
	WorkerNombre  string    `json:"worker_nombre,omitempty"`
	EstadoDetalle string    `json:"estado_detalle,omitempty"`
	Timestamp     time.Time `json:"-"` // zero: the publisher stamps the current UTC time

	// IdempotencyKey identifies this logical event across retries and
	// calls; empty: the call generates one.
	IdempotencyKey string `json:"-"`
}

// Event is a generic event, sent to POST /v1/events.
type Event struct {
	Topic string `json:"topic"`
	Type  string `json:"type,omitempty"` // SSE event name; empty: "message"
	Data  any    `json:"data"`           // any JSON value; json.RawMessage is sent as is
	// Key, when set, makes the event its key's latest in the topic's
	// state (GET /api/state); Delete (with Key) removes the key from the
	// state instead.
	Key    string `json:"key,omitempty"`
	Delete bool   `json:"delete,omitempty"`

	// IdempotencyKey identifies this logical event across retries and
	// calls; empty: the call generates one.
	IdempotencyKey string `json:"-"`
}

// Result is the publisher's answer to an accepted event.
type Result struct {
	ID             string `json:"id"` // the event's id in its topic's history, e.g. "1732650000000-0"
	Topic          string `json:"topic"`
	Receivers      int64  `json:"receivers"` // gateway processes subscribed to the topic (a hint)
	Replayed       bool   `json:"-"`         // a retry matched an event already stored: this is its first answer
	IdempotencyKey string `json:"-"`         // the key the call used
}

// Publisher publishes events to ssegate's publisher (or to a gateway in
// embedded mode, which serves the same routes). It is safe for concurrent
// use.
type Publisher struct {
	base *url.URL
	cfg  config
}

// NewPublisher returns a Publisher for the service at baseURL, e.g.
// "http://localhost:8081".
func NewPublisher(baseURL string, opts ...Option) (*Publisher, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: publisher URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: publisher URL %q: want http(s)://host[:port]", baseURL)
	}
	return &Publisher{base: u, cfg: newConfig(opts)}, nil
}

// PublishSpool publishes a spool event, retrying as the package doc says.
func (p *Publisher) PublishSpool(ctx context.Context, ev SpoolEvent) (Result, error) {
	type wire struct {
		SpoolEvent
		Timestamp string `json:"timestamp,omitempty"`
	}
	w := wire{SpoolEvent: ev}
	if !ev.Timestamp.IsZero() {
		w.Timestamp = ev.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	body, err := json.Marshal(w)
	if err != nil {
		return Result{}, fmt.Errorf("client: encode spool event: %w", err)
	}
	return p.publish(ctx, "/publish", body, ev.IdempotencyKey)
}

// Publish publishes a generic event, retrying as the package doc says.
func (p *Publisher) Publish(ctx context.Context, ev Event) (Result, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return Result{}, fmt.Errorf("client: encode event for %q: %w", ev.Topic, err)
	}
	return p.publish(ctx, "/v1/events", body, ev.IdempotencyKey)
}

// publish posts body to path until it is accepted, refused for good, the
// attempts run out or ctx ends. Every attempt carries the same key.
func (p *Publisher) publish(ctx context.Context, path string, body []byte, key string) (Result, error) {
	if key == "" {
		key = newKey()
	}
	target := p.base.JoinPath(path).String()
	for failures := 0; ; {
		res, err := p.attempt(ctx, target, body, key)
		if err == nil {
			res.IdempotencyKey = key
			return res, nil
		}
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		if isAPI && !apiErr.Temporary() || ctx.Err() != nil {
			return Result{}, fmt.Errorf("client: publish to %s: %w", path, err)
		}
		failures++
		if p.cfg.maxAttempts > 0 && failures >= p.cfg.maxAttempts {
			return Result{}, fmt.Errorf("client: publish to %s: %d attempts: %w", path, failures, err)
		}
		var retryAfter time.Duration
		if isAPI {
			retryAfter = apiErr.RetryAfter
		}
		if serr := sleep(ctx, backoff(p.cfg, failures, retryAfter)); serr != nil {
			return Result{}, fmt.Errorf("client: publish to %s: %w (last error: %w)", path, serr, err)
		}
	}
}

// attempt sends one POST and decodes its answer.
func (p *Publisher) attempt(ctx context.Context, target string, body []byte, key string) (Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if p.cfg.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.cfg.token)
	}
	resp, err := p.cfg.httpClient.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return Result{}, readAPIError(resp)
	}
	var res Result
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody))
	if err := dec.Decode(&res); err != nil {
		return Result{}, fmt.Errorf("client: publish answer %d is not {\"id\",…}: %w", resp.StatusCode, err)
	}
	if res.ID == "" {
		return Result{}, fmt.Errorf("client: publish answer %d has no id", resp.StatusCode)
	}
	res.Replayed = strings.EqualFold(resp.Header.Get("Idempotent-Replayed"), "true")
	return res, nil
}

// newKey returns a random Idempotency-Key: 128 bits, hex (visible ASCII,
// as the publisher requires).
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
