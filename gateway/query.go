package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/topic"
)

// streamParams are the query parameters the stream route understands;
// anything else is a client bug worth a 400 rather than silence.
var streamParams = map[string]bool{"topic": true, "state": true, "lastEventId": true, "last_event_id": true, "access_token": true, "_": true}

// streamTopics reads the stream request's query strictly and returns its
// topics, sorted and de-duplicated (the default topic when none is given),
// and whether the stream starts with their state (wantState).
//
// A query Go cannot parse whole is refused (400 invalid_query): since Go
// 1.17 url.ParseQuery drops a pair that contains a semicolon ("topic=a;topic=b"
// is the old syntax of some frameworks) or a bad escape, and r.URL.Query()
// hides the error, so such a request would silently stream the default
// topic. A topic in Redis's own channel namespace is 400 reserved_topic;
// any other bad topic is 400 invalid_topic.
func (s *Server) streamTopics(r *http.Request) ([]string, bool, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, false, httperr.BadRequest("invalid_query", fmt.Sprintf("malformed query string (%v); separate parameters with &", err))
	}
	for k := range q {
		if !streamParams[k] {
			return nil, false, httperr.BadRequest("unknown_parameter", fmt.Sprintf("unknown query parameter %q (known: topic, state, lastEventId, last_event_id, access_token)", truncate(k)))
		}
	}
	topics, err := topic.ParseList(q["topic"], topic.Default, s.cfg.MaxTopics, s.cfg.MaxTopicLen)
	if err != nil {
		code := "invalid_topic"
		if errors.Is(err, topic.ErrReserved) {
			code = "reserved_topic"
		}
		return nil, false, httperr.BadRequest(code, err.Error())
	}
	state, err := s.wantState(q["state"], topics)
	if err != nil {
		return nil, false, err
	}
	return topics, state, nil
}

// wantState reads the state parameter: 1 or true asks for the state, 0 or
// false declines it, and without it a stream gets it when one of its topics
// matches Config.StateTopics. Anything else (or the parameter twice) is
// 400 invalid_query.
func (s *Server) wantState(values []string, topics []string) (bool, error) {
	if len(values) == 0 {
		for _, name := range topics {
			if topic.MatchAny(s.cfg.StateTopics, name) {
				return true, nil
			}
		}
		return false, nil
	}
	if len(values) == 1 {
		switch values[0] {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
	}
	return false, httperr.BadRequest("invalid_query", fmt.Sprintf("state=%q: give state once, as 1, true, 0 or false", truncate(strings.Join(values, ","))))
}

// ParseStateTopics validates SSEGATE_STATE_TOPICS: each entry "*", a topic
// name, or a topic-name prefix ending in "*" (at most maxTopicLen bytes
// before it; topic.MaxLen when 0).
func ParseStateTopics(list []string, maxTopicLen int) ([]string, error) {
	for _, p := range list {
		if p == "*" {
			continue
		}
		if err := topic.Validate(strings.TrimSuffix(p, "*"), maxTopicLen); err != nil {
			return nil, fmt.Errorf("state topics: pattern %q: %w", p, err)
		}
	}
	return list, nil
}
