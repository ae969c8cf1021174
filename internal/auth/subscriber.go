package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/topic"
)

// DefaultCookie is the cookie that carries a subscriber's JWT.
const DefaultCookie = "ssegate_token"

// SubscriberConfig configures subscriber authorization.
type SubscriberConfig struct {
	Verifier *Verifier // required
	Cookie   string    // cookie name; DefaultCookie when empty
	Logger   *slog.Logger
}

// Subscriber authorizes stream requests (gateway.Authenticator) with JWTs
// whose SubscribeClaim lists the topic patterns the bearer may read. It is
// safe for concurrent use.
type Subscriber struct {
	verifier *Verifier
	cookie   string
	log      *slog.Logger
}

var _ gateway.Authenticator = (*Subscriber)(nil)

// NewSubscriber returns the authenticator for cfg.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("subscriber authorization needs a JWT key: set SSEGATE_JWT_SECRET or SSEGATE_JWT_PUBLIC_KEY_FILE")
	}
	if cfg.Cookie == "" {
		cfg.Cookie = DefaultCookie
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Subscriber{verifier: cfg.Verifier, cookie: cfg.Cookie, log: log}, nil
}

// Authenticate implements gateway.Authenticator: every topic must match one
// of the token's subscribe patterns. The grant expires with the token, and
// the gateway closes the stream then with a token-expired event.
func (s *Subscriber) Authenticate(r *http.Request, topics []string) (gateway.Grant, error) {
	tok, src, err := SubscriberToken(r, s.cookie)
	switch {
	case errors.Is(err, ErrNoToken):
		// A browser's EventSource cannot send an Authorization header:
		// name the ways it can send the token.
		return gateway.Grant{}, missing(fmt.Sprintf("this stream requires a JWT: from a browser, in the cookie %q "+
			"(EventSource cannot send headers) or the access_token query parameter; "+
			"other clients may also send Authorization: Bearer <token>", s.cookie))
	case err != nil:
		return gateway.Grant{}, invalid("malformed")
	}
	claims, err := s.verifier.Verify(tok)
	if err != nil {
		var ve *VerifyError
		why := "rejected"
		if errors.As(err, &ve) {
			why = ve.Reason
		}
		s.log.Debug("subscribe token refused", "reason", why, "source", string(src))
		return gateway.Grant{}, invalid(why)
	}
	for _, t := range topics {
		if !topic.MatchAny(claims.Subscribe, t) {
			s.log.Debug("subscribe to topic not granted", "topic", t, "sub", claims.Subject)
			return gateway.Grant{}, forbidden("subscribing to", t)
		}
	}
	return gateway.Grant{Topics: claims.Subscribe, Expires: claims.Expires}, nil
}
