package gateway

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
)

// countRefusal is the gateway's httpserver.OnError hook: every error
// answer to GET /api/sse/stream is a stream request refused before the
// stream started, counted in ssegate_gateway_connections_rejected_total
// with the answer's error code as its reason. The refusals are made where
// their cause is found (query.go, auth.go, limits.go, hosts.go, cors.go,
// stream.go) and counted only here, so the count cannot drift from the
// answers and its reasons are the codes clients see.
//
// A request the handler ends without an answer (the client left while its
// topics were being subscribed) reaches no error handler and is not
// counted; nor are refusals on other routes or methods (a /readyz 503 is
// no refused stream).
func (s *Server) countRefusal(c echo.Context, answer *httperr.Error) {
	if c.Path() != streamPath || c.Request().Method != http.MethodGet {
		return
	}
	s.metrics.Rejected.WithLabelValues(answer.Code).Inc()
}

// rejectedCodes are the error codes GET /api/sse/stream can be refused
// with, each a reason of ssegate_gateway_connections_rejected_total created
// at 0 from start-up (a test checks that it lists every code of the
// gateway and its authenticators). An Authenticator of an embedding
// program may answer codes of its own; they are counted too, from their
// first refusal.
func rejectedCodes() []string {
	return []string{
		// The request: its host, origin and query.
		"host_not_allowed", "origin_not_allowed", "invalid_query", "unknown_parameter", "invalid_topic", "reserved_topic",
		"headers_too_large",
		// The credential (internal/auth).
		"missing_token", "invalid_token", "forbidden_topic",
		// The gateway's state and limits.
		"draining", "redis_unavailable", "redis_misconfigured", "too_many_connections", "too_many_connections_from_ip", "connect_rate_exceeded",
		// A failure nobody turned into an answer (a panic, an
		// Authenticator's plain error): a 500.
		"internal",
	}
}
