package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/singleflight"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/topic"
)

// statePath serves a topic's keyed state as JSON (GET /api/state?topic=T):
// the latest event of every key and the position to resume a stream from.
const statePath = "/api/state"

// stateReadTimeout bounds one shared read of a topic's state.
const stateReadTimeout = 5 * time.Second

// stateParams are the query parameters statePath understands.
var stateParams = map[string]bool{"topic": true, "access_token": true}

// stateBody is the JSON answer of statePath.
type stateBody struct {
	Topic    string       `json:"topic"`
	Position string       `json:"position"`
	Entries  []stateEntry `json:"entries"`
	Count    int          `json:"count"`
}

// stateEntry is one key's latest event, as the stream would deliver it:
// event is the SSE event name ("message" when the publisher gave none) and
// data the event's data as text.
type stateEntry struct {
	ID    string `json:"id"`
	Key   string `json:"key"`
	Event string `json:"event"`
	Data  string `json:"data"`
}

// stateCache shares reads of a topic's state: concurrent requests for one
// topic wait for one broker read (singleflight), and the read is reused for
// Config.StateCacheTTL with its encodings (the JSON of statePath, the SSE
// frames of a stream's state; stream_state.go), each built once per read,
// so a thousand pages opening at once cost one read and one encoding. A
// read is consistent whatever its age: its position says where a stream
// must resume to continue it, and history holds what came since.
type stateCache struct {
	ttl   time.Duration // Config.StateCacheTTL
	group singleflight.Group
	mu    sync.Mutex // lock order: docs/design.md
	byTop map[string]cachedState
}

type cachedState struct {
	ts *topicState
	at time.Time
}

func newStateCache(ttl time.Duration) *stateCache {
	return &stateCache{ttl: ttl, byTop: make(map[string]cachedState)}
}

// get returns topic's state, from the cache while it is fresh; fresh
// skips the cache (a stream whose cached state is older than the history
// retains, stream_state.go).
func (sc *stateCache) get(ctx context.Context, b Broker, name string, fresh bool) (*topicState, error) {
	now := time.Now()
	sc.mu.Lock()
	c, ok := sc.byTop[name]
	sc.mu.Unlock()
	if ok && !fresh && now.Sub(c.at) < sc.ttl {
		return c.ts, nil
	}
	key := name
	if fresh {
		key = "fresh\x00" + name // never joins a read that may have started before
	}
	v, err, _ := sc.group.Do(key, func() (any, error) {
		// Detached from the request that happens to lead: its client
		// leaving must not fail the others waiting on the same read.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateReadTimeout)
		defer cancel()
		st, err := b.State(rctx, name)
		if err != nil {
			return nil, err
		}
		ts := &topicState{name: name, st: st}
		sc.put(name, ts, time.Now())
		return ts, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*topicState), nil
}

// put caches ts, dropping stale entries once the map has grown, so it
// holds about the topics asked for within the last ttl.
func (sc *stateCache) put(name string, ts *topicState, at time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.byTop) >= 256 {
		for k, c := range sc.byTop {
			if at.Sub(c.at) >= sc.ttl {
				delete(sc.byTop, k)
			}
		}
	}
	sc.byTop[name] = cachedState{ts: ts, at: at}
}

// topicState is one read of a topic's state and its encodings, each built
// at most once, by the first request that needs it, and shared read-only
// by every request the read serves.
type topicState struct {
	name string
	st   broker.State

	jsonOnce sync.Once
	json     []byte
	jsonErr  error

	singleOnce sync.Once
	single     []byte // the state's frames on a single-topic stream (id lines)
	multiOnce  sync.Once
	multi      []byte // the same frames without id lines (multi-topic)
}

// body returns the JSON answer of statePath.
func (ts *topicState) body() ([]byte, error) {
	ts.jsonOnce.Do(func() { ts.json, ts.jsonErr = encodeState(ts.name, ts.st) })
	return ts.json, ts.jsonErr
}

func encodeState(name string, st broker.State) ([]byte, error) {
	out := stateBody{Topic: name, Position: st.Position.String(), Entries: make([]stateEntry, len(st.Entries)), Count: len(st.Entries)}
	for i, e := range st.Entries {
		event := e.Event
		if event == "" {
			event = "message"
		}
		out.Entries[i] = stateEntry{ID: e.ID.String(), Key: e.Key, Event: event, Data: string(e.Data)}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode state of %q: %w", name, err)
	}
	return body, nil
}

// state serves statePath. It is refused like a stream (query, credential,
// connection limits) and answers 503 redis_unavailable when the broker
// cannot be read.
func (s *Server) state(c echo.Context) error {
	name, err := s.stateTopic(c.Request())
	if err != nil {
		return err
	}
	if _, err := s.authorize(c, []string{name}); err != nil {
		return err
	}
	release, err := s.admit(c)
	if err != nil {
		return err
	}
	defer release()
	ts, err := s.states.get(c.Request().Context(), s.broker, name, false)
	var body []byte
	if err == nil {
		body, err = ts.body()
	}
	switch {
	case errors.Is(err, broker.ErrUnavailable):
		s.log.Warn("state read failed", "topic", name, "err", err)
		return httperr.Unavailable("redis_unavailable", "the event broker is unavailable; retry later", s.cfg.Retry)
	case err != nil:
		return fmt.Errorf("state of %q: %w", name, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSONBlob(http.StatusOK, body)
}

// stateTopic reads statePath's query strictly: one topic (the default topic
// when none is given), and access_token.
func (s *Server) stateTopic(r *http.Request) (string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", httperr.BadRequest("invalid_query", fmt.Sprintf("malformed query string (%v); separate parameters with &", err))
	}
	for k := range q {
		if !stateParams[k] {
			return "", httperr.BadRequest("unknown_parameter", fmt.Sprintf("unknown query parameter %q (known: topic, access_token)", truncate(k)))
		}
	}
	topics, err := topic.ParseList(q["topic"], topic.Default, 1, s.cfg.MaxTopicLen)
	if err != nil {
		code := "invalid_topic"
		if errors.Is(err, topic.ErrReserved) {
			code = "reserved_topic"
		}
		return "", httperr.BadRequest(code, err.Error())
	}
	return topics[0], nil
}
