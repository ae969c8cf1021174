package auth

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/ssegate/ssegate/internal/topic"
	"github.com/ssegate/ssegate/publisher"
)

// ErrNoCredentials is returned when publish authentication is configured
// with neither tokens nor a JWT key and anonymous publishing was not asked
// for explicitly: a publisher that silently accepted everyone would be the
// most dangerous default.
var ErrNoCredentials = errors.New("no publish credentials configured: set SSEGATE_PUBLISH_TOKENS, SSEGATE_PUBLISH_TOKENS_FILE, SSEGATE_JWT_SECRET or SSEGATE_JWT_PUBLIC_KEY_FILE, " +
	"or SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true to accept unauthenticated publishes (insecure)")

// PublisherConfig configures publish authentication.
type PublisherConfig struct {
	// Tokens are static API tokens; they may publish to any topic.
	Tokens *Tokens
	// Verifier checks JWTs; their PublishClaim lists the topics allowed.
	Verifier *Verifier
	// AllowAnonymous accepts requests without an Authorization header.
	// A header that is present is still verified.
	AllowAnonymous bool
	// Logger receives debug lines about refusals (never token values).
	Logger *slog.Logger
}

// Publisher authorizes publish requests (publisher.Authorizer). It is safe
// for concurrent use.
type Publisher struct {
	cfg PublisherConfig
	log *slog.Logger
}

var _ publisher.Authorizer = (*Publisher)(nil)

// NewPublisher returns the authorizer for cfg, or ErrNoCredentials when cfg
// would let nobody in without AllowAnonymous.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if cfg.Tokens.Len() == 0 && cfg.Verifier == nil && !cfg.AllowAnonymous {
		return nil, ErrNoCredentials
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{cfg: cfg, log: log}, nil
}

// Authorize implements publisher.Authorizer: nil when r may publish to
// name, else a 401 (missing or invalid credential) or 403 (the JWT does not
// list the topic) *httperr.Error.
func (p *Publisher) Authorize(r *http.Request, name string) error {
	tok, err := Bearer(r.Header.Get("Authorization"))
	switch {
	case errors.Is(err, ErrNoToken):
		if p.cfg.AllowAnonymous {
			return nil
		}
		return missing("this endpoint requires a bearer token (Authorization: Bearer <token>)")
	case err != nil:
		return invalid("malformed")
	}
	if p.cfg.Tokens.Match(tok) {
		return nil
	}
	if p.cfg.Verifier == nil {
		return invalid("unknown token")
	}
	claims, err := p.cfg.Verifier.Verify(tok)
	if err != nil {
		var ve *VerifyError
		why := "rejected"
		if errors.As(err, &ve) {
			why = ve.Reason
		}
		p.log.Debug("publish token refused", "reason", why, "topic", name)
		return invalid(why)
	}
	if !topic.MatchAny(claims.Publish, name) {
		p.log.Debug("publish to topic not granted", "topic", name, "sub", claims.Subject)
		return forbidden("publishing to", name)
	}
	return nil
}
