// Package publisher is ssegate's publish API: the state-machine backend
// POSTs events, the publisher validates them and makes one atomic broker
// call that appends each event to its topic's history and publishes it.
//
// Routes: POST /publish takes the old system's spool event and publishes it
// on spools:updates; POST /v1/events takes {"topic","type","data"} for any
// topic, with an optional state "key" (and "delete": true for a tombstone);
// a spool event's key is its tag_spool. Both accept an Idempotency-Key header: a retry with the same key
// returns the first answer and publishes nothing new.
package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/requestid"
	"github.com/ssegate/ssegate/internal/topic"
)

// Store is what the publisher needs from the broker; redisbroker and
// membroker provide it.
type Store interface {
	Publish(ctx context.Context, req broker.PublishRequest) (broker.PublishResult, error)
	Ping(ctx context.Context) error
}

// Authorizer decides who may publish. Authenticate checks the request's
// credential from its headers alone, before the body is read, so that a
// caller without a valid credential is answered at once and never holds a
// connection open by sending its body slowly; it returns an *httperr.Error
// (401 with WWW-Authenticate) to refuse. The Grant it returns then decides
// the topic named in the body.
type Authorizer interface {
	Authenticate(r *http.Request) (Grant, error)
}

// Grant is an authenticated caller's permission to publish.
type Grant interface {
	// Allow returns nil when the caller may publish to topic, else an
	// *httperr.Error (403 with WWW-Authenticate).
	Allow(topic string) error
}

// allowAll is the grant of the explicit anonymous mode (no Authorizer).
type allowAll struct{}

func (allowAll) Allow(string) error { return nil }

// Config tunes the publisher.
type Config struct {
	MaxBodyBytes   int64         // larger bodies get 413; default 64 KiB
	MaxEventBytes  int64         // larger event data (as stored and delivered) gets 413; default 64 KiB
	MaxTopicLen    int           // default topic.MaxLen
	PublishTimeout time.Duration // bound on one broker call; default 5 s
	RetryAfter     time.Duration // suggested wait on 503; default 1 s
	// Auth checks callers; nil accepts everyone (the explicit anonymous mode).
	Auth     Authorizer
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
}

// Server serves the publish API.
type Server struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	metrics *Metrics
}

// New builds a publisher on store.
func New(store Store, cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = 64 << 10
	}
	if cfg.MaxTopicLen <= 0 {
		cfg.MaxTopicLen = topic.MaxLen
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 5 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, store: store, log: cfg.Logger, metrics: NewMetrics(cfg.Registry)}
}

// Register mounts POST /publish and POST /v1/events on e, and the count of
// invalid publish requests on e's error handler (countRefusal).
func (s *Server) Register(e *echo.Echo) {
	httpserver.OnError(e, s.countRefusal)
	e.POST("/publish", s.instrument("/publish", s.publishSpool))
	e.POST("/v1/events", s.instrument("/v1/events", s.publishGeneric))
}

// Ready checks the broker for a readiness probe.
func (s *Server) Ready(ctx context.Context) error { return s.store.Ping(ctx) }

// response is the body of a successful publish.
type response struct {
	ID        string `json:"id"`
	Topic     string `json:"topic"`
	Receivers int64  `json:"receivers"`
}

func (s *Server) publishSpool(c echo.Context) error {
	start := time.Now()
	grant, err := s.authenticate(c)
	if err != nil {
		return err
	}
	if err := grant.Allow(SpoolTopic); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	ev, stamped, err := parseSpoolEvent(body, s.cfg.Now())
	if err != nil {
		return validationFailed(err)
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode spool event: %w", err)
	}
	// The idempotency fingerprint covers what the caller sent, not the
	// timestamp filled in here: a retry a moment later is the same request.
	identity := data
	if stamped {
		asSent := ev
		asSent.Timestamp = ""
		if identity, err = json.Marshal(asSent); err != nil {
			return fmt.Errorf("encode spool event: %w", err)
		}
	}
	// The spool's tag is its state key; it is part of data, so of identity.
	return s.publish(c, "/publish", start, broker.PublishRequest{Topic: SpoolTopic, Data: data, Key: ev.TagSpool}, identity)
}

func (s *Server) publishGeneric(c echo.Context) error {
	start := time.Now()
	grant, err := s.authenticate(c)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	ev, err := ParseGenericEvent(body, s.cfg.MaxTopicLen)
	if err != nil {
		return validationFailed(err)
	}
	if err := grant.Allow(ev.Topic); err != nil {
		return err
	}
	identity := []byte(ev.Data)
	if ev.Key != "" {
		// Appended only for keyed events: the fingerprints of unkeyed ones
		// stay those of earlier versions, so a retry across an upgrade is
		// still recognised.
		identity = fmt.Appendf(identity, "\x00key\x00%s\x00%t", ev.Key, ev.Delete)
	}
	req := broker.PublishRequest{Topic: ev.Topic, Event: ev.Type, Data: ev.Data, Key: ev.Key, Delete: ev.Delete}
	return s.publish(c, "/v1/events", start, req, identity)
}

// authenticate checks the caller from the request headers; it runs before
// the body is read.
func (s *Server) authenticate(c echo.Context) (Grant, error) {
	if s.cfg.Auth == nil {
		return allowAll{}, nil
	}
	return s.cfg.Auth.Authenticate(c.Request())
}

// validationFailed is the 400 answer to an event that failed validation.
func validationFailed(err error) error {
	var ve *validationError
	if errors.As(err, &ve) {
		return httperr.BadRequest(ve.code, ve.message)
	}
	return err
}

// readBody enforces the content type and the size limit.
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, httperr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the event as Content-Type: application/json")
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, httperr.New(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", s.cfg.MaxBodyBytes))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if httpserver.IsBodyTimeout(err) {
		return nil, httperr.New(http.StatusRequestTimeout, "body_read_timeout", "the request body did not arrive in time")
	}
	if err != nil {
		return nil, httperr.BadRequest("truncated_body", "the body could not be read completely")
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, httperr.New(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes", s.cfg.MaxBodyBytes))
	}
	return body, nil
}

// validIdempotencyKey accepts 1 to 255 visible ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotencyKey returns the request's Idempotency-Key ("" for none), or a
// 400 when it is malformed or sent more than once: with two keys it would
// be left to chance which one a retry is matched against.
func idempotencyKey(h http.Header) (string, error) {
	keys := h.Values("Idempotency-Key")
	switch {
	case len(keys) == 0 || len(keys) == 1 && keys[0] == "": // an empty header is no key, as before
		return "", nil
	case len(keys) > 1:
		return "", httperr.BadRequest("duplicate_idempotency_key", "send at most one Idempotency-Key header")
	case !validIdempotencyKey(keys[0]):
		return "", httperr.BadRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
	}
	return keys[0], nil
}

// publish makes the broker call. identity is the request content an
// Idempotency-Key is bound to (with the endpoint, topic and event name).
func (s *Server) publish(c echo.Context, endpoint string, start time.Time, req broker.PublishRequest, identity []byte) error {
	if int64(len(req.Data)) > s.cfg.MaxEventBytes {
		// The body fit, but the data as delivered does not (a spool
		// event's strings grow when re-encoded, e.g. "<" becomes "\u003c").
		return httperr.New(http.StatusRequestEntityTooLarge, "event_too_large", fmt.Sprintf("the event data is larger than %d bytes", s.cfg.MaxEventBytes))
	}
	req.AcceptedAt = s.cfg.Now()
	key, err := idempotencyKey(c.Request().Header)
	if err != nil {
		return err
	}
	if key != "" {
		req.IdempotencyKey = key
		sum := sha256.Sum256([]byte(endpoint + "\x00" + req.Topic + "\x00" + req.Event + "\x00" + string(identity)))
		req.Fingerprint = hex.EncodeToString(sum[:16])
	}
	validated := time.Now()
	s.metrics.Duration.WithLabelValues("validate").Observe(validated.Sub(start).Seconds())
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.PublishTimeout)
	defer cancel()
	res, err := s.store.Publish(ctx, req)
	s.metrics.Duration.WithLabelValues("redis").Observe(time.Since(validated).Seconds())
	switch {
	case errors.Is(err, broker.ErrIdempotencyConflict):
		return httperr.New(http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used for a different event")
	case err != nil:
		return brokerError(req.Topic, err, s.cfg.RetryAfter)
	}
	body := response{ID: res.ID.String(), Topic: req.Topic, Receivers: res.Receivers}
	if res.Replayed {
		s.metrics.IdempotentReplays.Inc()
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.JSON(http.StatusOK, body)
	}
	s.metrics.Published.WithLabelValues(endpoint).Inc()
	s.log.Debug("published", "req", requestid.Of(c), "topic", req.Topic, "id", body.ID, "receivers", res.Receivers)
	return c.JSON(http.StatusAccepted, body)
}

// instrument counts requests of a publish route by status code.
func (s *Server) instrument(endpoint string, h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		code := c.Response().Status
		var he *httperr.Error
		var ee *echo.HTTPError
		switch {
		case errors.As(err, &he):
			code = he.Status
		case errors.As(err, &ee):
			code = ee.Code
		case err != nil:
			code = http.StatusInternalServerError
		}
		s.metrics.Requests.WithLabelValues(endpoint, statusText(code)).Inc()
		return err
	}
}
