package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/topic"
)

// streamParams are the query parameters the stream route understands;
// anything else is a client bug worth a 400 rather than silence.
var streamParams = map[string]bool{"topic": true, "lastEventId": true, "last_event_id": true, "access_token": true, "_": true}

// streamTopics reads the stream request's query strictly and returns its
// topics, sorted and de-duplicated (the default topic when none is given).
//
// A query Go cannot parse whole is refused (400 invalid_query): since Go
// 1.17 url.ParseQuery drops a pair that contains a semicolon ("topic=a;topic=b"
// is the old syntax of some frameworks) or a bad escape, and r.URL.Query()
// hides the error, so such a request would silently stream the default
// topic. A topic in Redis's own channel namespace is 400 reserved_topic;
// any other bad topic is 400 invalid_topic.
func (s *Server) streamTopics(r *http.Request) ([]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, httperr.BadRequest("invalid_query", fmt.Sprintf("malformed query string (%v); separate parameters with &", err))
	}
	for k := range q {
		if !streamParams[k] {
			return nil, httperr.BadRequest("unknown_parameter", fmt.Sprintf("unknown query parameter %q (known: topic, lastEventId, last_event_id, access_token)", truncate(k)))
		}
	}
	topics, err := topic.ParseList(q["topic"], topic.Default, s.cfg.MaxTopics, s.cfg.MaxTopicLen)
	if err != nil {
		code := "invalid_topic"
		if errors.Is(err, topic.ErrReserved) {
			code = "reserved_topic"
		}
		return nil, httperr.BadRequest(code, err.Error())
	}
	return topics, nil
}
