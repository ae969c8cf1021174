package gateway

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Grant is what a verified subscriber credential allows.
type Grant struct {
	// Topics are exact topic names or prefix patterns ("spools:*").
	Topics []string
	// Expires is when the credential stops being valid; the stream is
	// closed then, after a token-expired event. Zero = never.
	Expires time.Time
}

// Authenticator verifies the credential a stream request carries (cookie,
// Authorization header or access_token query parameter). It returns an error
// built with httperr (401 or 403) when the request must be refused.
type Authenticator interface {
	Authenticate(r *http.Request, topics []string) (Grant, error)
}

type authResult struct {
	expires time.Time
}

// authorize applies the configured Authenticator, if any. Its refusal is
// answered, and counted (countRefusal), by its own error code.
func (s *Server) authorize(c echo.Context, topics []string) (authResult, error) {
	if s.cfg.Auth == nil {
		return authResult{}, nil
	}
	g, err := s.cfg.Auth.Authenticate(c.Request(), topics)
	if err != nil {
		return authResult{}, err
	}
	return authResult{expires: g.Expires}, nil
}
