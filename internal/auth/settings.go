package auth

import (
	"fmt"
	"log/slog"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/config"
)

// Subscribe authorization modes (SSEGATE_SUBSCRIBE_AUTH).
const (
	SubscribeNone = "none"
	SubscribeJWT  = "jwt"
)

// Settings are the authentication settings of both commands, bound to
// flags and environment variables by the Bind methods (docs/CONTRACT.md).
// Secret values are read here and never logged.
type Settings struct {
	PublishTokens     string // comma-separated static tokens
	PublishTokensFile string // one token per line
	AllowAnonymous    bool   // accept publishes without a credential
	JWTSecret         string // HS256 key
	JWTPublicKeyFile  string // PEM RSA or ECDSA P-256 public key
	JWTAudience       string
	JWTIssuer         string
	SubscribeAuth     string // SubscribeNone or SubscribeJWT
	Cookie            string // subscriber JWT cookie name
	// MaxTopicLen bounds the topic names in JWT claim patterns; the
	// commands set it to SSEGATE_MAX_TOPIC_LEN (service.Common), so a
	// token may grant any topic the service accepts (topic.MaxLen when 0).
	MaxTopicLen int
}

// BindPublish binds the publish credential settings.
func (s *Settings) BindPublish(set *config.Set) {
	set.String(&s.PublishTokens, "publish-tokens", "SSEGATE_PUBLISH_TOKENS", "", "comma-separated static bearer tokens allowed to publish to any topic (secret)")
	set.String(&s.PublishTokensFile, "publish-tokens-file", "SSEGATE_PUBLISH_TOKENS_FILE", "", "file with one publish token per line")
	set.Bool(&s.AllowAnonymous, "allow-anonymous-publish", "SSEGATE_ALLOW_ANONYMOUS_PUBLISH", false, "accept publishes without a bearer token (insecure; development only)")
}

// BindJWT binds the JWT verification settings.
func (s *Settings) BindJWT(set *config.Set) {
	set.String(&s.JWTSecret, "jwt-secret", "SSEGATE_JWT_SECRET", "", "HS256 key for JWTs, at least 32 bytes (secret)")
	set.String(&s.JWTPublicKeyFile, "jwt-public-key-file", "SSEGATE_JWT_PUBLIC_KEY_FILE", "", "PEM RSA or ECDSA P-256 public key for RS256/ES256 JWTs")
	set.String(&s.JWTAudience, "jwt-audience", "SSEGATE_JWT_AUDIENCE", "", "required aud claim of JWTs (empty = not checked)")
	set.String(&s.JWTIssuer, "jwt-issuer", "SSEGATE_JWT_ISSUER", "", "required iss claim of JWTs (empty = not checked)")
}

// BindSubscribe binds the subscriber authorization settings (gateway).
func (s *Settings) BindSubscribe(set *config.Set) {
	set.String(&s.SubscribeAuth, "subscribe-auth", "SSEGATE_SUBSCRIBE_AUTH", SubscribeNone, "subscriber authorization: none or jwt")
	set.String(&s.Cookie, "auth-cookie", "SSEGATE_AUTH_COOKIE", DefaultCookie, "cookie carrying the subscriber JWT")
}

// Verifier builds the JWT verifier, or returns nil when no key is set.
func (s Settings) Verifier() (*Verifier, error) {
	if s.JWTSecret == "" && s.JWTPublicKeyFile == "" {
		return nil, nil
	}
	cfg := VerifierConfig{Audience: s.JWTAudience, Issuer: s.JWTIssuer, MaxTopicLen: s.MaxTopicLen}
	if s.JWTSecret != "" {
		cfg.Secret = []byte(s.JWTSecret)
	}
	if s.JWTPublicKeyFile != "" {
		k, err := LoadPublicKey(s.JWTPublicKeyFile)
		if err != nil {
			return nil, err
		}
		cfg.PublicKey = k
	}
	return NewVerifier(cfg)
}

// Tokens loads the static publish tokens from both settings.
func (s Settings) Tokens() (*Tokens, error) {
	list := config.List(s.PublishTokens)
	if s.PublishTokensFile != "" {
		more, err := ReadTokensFile(s.PublishTokensFile)
		if err != nil {
			return nil, err
		}
		list = append(list, more...)
	}
	return NewTokens(list)
}

// Configured reports whether any publish credential is set.
func (s Settings) Configured() bool {
	return s.PublishTokens != "" || s.PublishTokensFile != "" || s.JWTSecret != "" || s.JWTPublicKeyFile != ""
}

// Publisher builds the publish authorizer and logs, without secrets, what
// it accepts. It fails with ErrNoCredentials when nothing is configured and
// AllowAnonymous is off, and warns when anonymous publishing is on.
func (s Settings) Publisher(log *slog.Logger) (*Publisher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tokens, err := s.Tokens()
	if err != nil {
		return nil, err
	}
	v, err := s.Verifier()
	if err != nil {
		return nil, err
	}
	p, err := NewPublisher(PublisherConfig{Tokens: tokens, Verifier: v, AllowAnonymous: s.AllowAnonymous, Logger: log})
	if err != nil {
		return nil, err
	}
	var algs []string
	if v != nil {
		algs = v.Algorithms()
	}
	log.Info("publish authentication", "static_tokens", tokens.Len(), "jwt_algorithms", algs,
		"jwt_audience", s.JWTAudience, "jwt_issuer", s.JWTIssuer, "anonymous", s.AllowAnonymous)
	if s.AllowAnonymous {
		log.Warn("SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true: requests without a bearer token may publish to any topic; do not expose this publisher")
	}
	return p, nil
}

// Subscriber builds the gateway's subscriber authenticator: nil for mode
// none (anyone may subscribe to any topic), a JWT Subscriber for mode jwt.
func (s Settings) Subscriber(log *slog.Logger) (gateway.Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch s.SubscribeAuth {
	case "", SubscribeNone:
		log.Info("subscriber authorization: none (any client may subscribe to any topic)")
		return nil, nil
	case SubscribeJWT:
	default:
		return nil, fmt.Errorf("SSEGATE_SUBSCRIBE_AUTH=%q: want none or jwt", s.SubscribeAuth)
	}
	v, err := s.Verifier()
	if err != nil {
		return nil, err
	}
	sub, err := NewSubscriber(SubscriberConfig{Verifier: v, Cookie: s.Cookie, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("subscriber authorization: jwt", "jwt_algorithms", v.Algorithms(), "cookie", sub.cookie,
		"jwt_audience", s.JWTAudience, "jwt_issuer", s.JWTIssuer)
	return sub, nil
}
