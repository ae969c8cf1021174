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

// Authenticate implements publisher.Authorizer from the Authorization
// header alone: a 401 *httperr.Error when the credential is missing
// (without AllowAnonymous) or invalid, else the Grant that decides topics.
func (p *Publisher) Authenticate(r *http.Request) (publisher.Grant, error) {
	tok, err := Bearer(r.Header.Get("Authorization"))
	switch {
	case errors.Is(err, ErrNoToken):
		if p.cfg.AllowAnonymous {
			return everyTopic{}, nil
		}
		return nil, missing("this endpoint requires a bearer token (Authorization: Bearer <token>)")
	case err != nil:
		return nil, invalid("malformed")
	}
	if p.cfg.Tokens.Match(tok) {
		return everyTopic{}, nil
	}
	if p.cfg.Verifier == nil {
		return nil, invalid("unknown token")
	}
	claims, err := p.cfg.Verifier.Verify(tok)
	if err != nil {
		var ve *VerifyError
		why := "rejected"
		if errors.As(err, &ve) {
			why = ve.Reason
		}
		p.log.Debug("publish token refused", "reason", why)
		return nil, invalid(why)
	}
	return claimGrant{claims: claims, log: p.log}, nil
}

// Authorize is Authenticate followed by the grant's check of name: nil when
// r may publish to name, else a 401 or 403 *httperr.Error.
func (p *Publisher) Authorize(r *http.Request, name string) error {
	g, err := p.Authenticate(r)
	if err != nil {
		return err
	}
	return g.Allow(name)
}

// everyTopic is the grant of a static token or of an anonymous caller.
type everyTopic struct{}

func (everyTopic) Allow(string) error { return nil }

// claimGrant is the grant of a verified JWT: the topics its PublishClaim
// lists.
type claimGrant struct {
	claims Claims
	log    *slog.Logger
}

func (g claimGrant) Allow(name string) error {
	if !topic.MatchAny(g.claims.Publish, name) {
		g.log.Debug("publish to topic not granted", "topic", name, "sub", g.claims.Subject)
		return forbidden("publishing to", name)
	}
	return nil
}
