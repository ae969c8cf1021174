package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssegate/ssegate/internal/topic"
)

// Claim names carrying the topic patterns a token grants.
const (
	PublishClaim   = "ssegate.publish"
	SubscribeClaim = "ssegate.subscribe"
)

// MinSecretLen is the shortest HS256 secret accepted: RFC 7518 §3.2
// requires a key at least as long as the hash output (256 bits). A shorter
// secret can be brute-forced offline from any one token.
const MinSecretLen = 32

// minRSABits is the smallest RSA modulus accepted for RS256.
const minRSABits = 2048

// VerifierConfig configures JWT verification. At least one key is needed;
// with both, HS256 tokens are checked against Secret and RS256/ES256 tokens
// against PublicKey, and each key is only ever used with its own algorithm.
type VerifierConfig struct {
	// Secret is the HS256 key, at least MinSecretLen bytes.
	Secret []byte
	// PublicKey is an *rsa.PublicKey (RS256, at least 2048 bits) or an
	// *ecdsa.PublicKey on P-256 (ES256).
	PublicKey crypto.PublicKey
	// Audience, when set, must appear in the token's "aud" claim.
	Audience string
	// Issuer, when set, must equal the token's "iss" claim.
	Issuer string
	// Leeway tolerates clock skew on exp and nbf (default 0).
	Leeway time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// MaxTopicLen bounds the topic names in the publish and subscribe
	// patterns of a token, as SSEGATE_MAX_TOPIC_LEN bounds the topics
	// themselves (topic.MaxLen when 0).
	MaxTopicLen int
}

// Claims is what a verified token says about its bearer.
type Claims struct {
	Subject   string
	Publish   []string // topic patterns the bearer may publish to
	Subscribe []string // topic patterns the bearer may subscribe to
	Expires   time.Time
}

// Verifier checks JWTs. It is immutable and safe for concurrent use.
type Verifier struct {
	secret  []byte
	rsa     *rsa.PublicKey
	ec      *ecdsa.PublicKey
	methods []string
	parser  *jwt.Parser
	maxLen  int // topic.MaxLen when 0 (topic.Validate)
}

// NewVerifier validates cfg's keys and returns a verifier pinned to their
// algorithms.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{maxLen: cfg.MaxTopicLen}
	if cfg.Secret != nil {
		if len(cfg.Secret) < MinSecretLen {
			return nil, fmt.Errorf("JWT secret: %d bytes is too short for HS256; use at least %d random bytes (e.g. openssl rand -hex 32)", len(cfg.Secret), MinSecretLen)
		}
		v.secret = append([]byte(nil), cfg.Secret...)
		v.methods = append(v.methods, jwt.SigningMethodHS256.Alg())
	}
	switch k := cfg.PublicKey.(type) {
	case nil:
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("JWT public key: RSA key of %d bits is too small (at least %d)", k.N.BitLen(), minRSABits)
		}
		v.rsa = k
		v.methods = append(v.methods, jwt.SigningMethodRS256.Alg())
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("JWT public key: ECDSA key on %s; ES256 needs P-256", k.Curve.Params().Name)
		}
		v.ec = k
		v.methods = append(v.methods, jwt.SigningMethodES256.Alg())
	default:
		return nil, fmt.Errorf("JWT public key: unsupported key type %T (want RSA or ECDSA P-256)", cfg.PublicKey)
	}
	if len(v.methods) == 0 {
		return nil, errors.New("JWT verification needs a secret (HS256) or a public key (RS256/ES256)")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(cfg.Leeway),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Algorithms returns the JWT algorithms this verifier accepts.
func (v *Verifier) Algorithms() []string { return append([]string(nil), v.methods...) }

// VerifyError is why a token was refused. Reason is a short fixed phrase
// safe to show to the caller; it never contains the token.
type VerifyError struct {
	Reason string
	Err    error
}

// Error implements error with the caller-safe reason.
func (e *VerifyError) Error() string { return "invalid token: " + e.Reason }

// Unwrap returns the underlying jwt error.
func (e *VerifyError) Unwrap() error { return e.Err }

// errWrongKey is returned by the key function when the token names an
// algorithm for which no key is configured.
var errWrongKey = errors.New("no key for this algorithm")

// key hands each algorithm family only its own key: an HMAC token never
// sees the RSA public key as its secret, which is what algorithm confusion
// attacks rely on.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if v.secret != nil {
			return v.secret, nil
		}
	case *jwt.SigningMethodRSA:
		if v.rsa != nil {
			return v.rsa, nil
		}
	case *jwt.SigningMethodECDSA:
		if v.ec != nil {
			return v.ec, nil
		}
	}
	return nil, errWrongKey
}

// ErrCriticalHeader refuses a token whose header has a "crit" parameter.
// RFC 7515 §4.1.11: a recipient that does not understand every extension
// listed in crit must reject the token, and ssegate understands none.
var ErrCriticalHeader = errors.New("critical header extension (crit) not understood")

// Verify checks token's signature, algorithm, expiry, audience and issuer
// and returns its claims, or a *VerifyError. Claim names are matched
// exactly (tokenClaims.UnmarshalJSON).
func (v *Verifier) Verify(token string) (Claims, error) {
	if err := checkToken(token); err != nil {
		return Claims{}, &VerifyError{Reason: "malformed", Err: err}
	}
	var tc tokenClaims
	t, err := v.parser.ParseWithClaims(token, &tc, v.key)
	if err != nil {
		return Claims{}, &VerifyError{Reason: reason(err), Err: err}
	}
	if _, ok := t.Header["crit"]; ok {
		return Claims{}, &VerifyError{Reason: ErrCriticalHeader.Error(), Err: ErrCriticalHeader}
	}
	for _, list := range [][]string{tc.Publish, tc.Subscribe} {
		for _, p := range list {
			if err := validPattern(p, v.maxLen); err != nil {
				return Claims{}, &VerifyError{Reason: "invalid topic pattern in claims", Err: err}
			}
		}
	}
	c := Claims{Subject: tc.Subject, Publish: tc.Publish, Subscribe: tc.Subscribe}
	if tc.ExpiresAt != nil {
		c.Expires = tc.ExpiresAt.Time
	}
	return c, nil
}

// validPattern accepts "*", a topic name, or a topic-name prefix ending in
// "*", each name at most maxLen bytes (topic.MaxLen when 0).
func validPattern(p string, maxLen int) error {
	if p == "*" {
		return nil
	}
	name := strings.TrimSuffix(p, "*")
	if err := topic.Validate(name, maxLen); err != nil {
		return fmt.Errorf("pattern %q: %w", p, err)
	}
	return nil
}

// reason maps a jwt error to the phrase shown to the caller.
func reason(err error) string {
	var ce *ClaimError
	switch {
	case errors.As(err, &ce):
		return ce.Error()
	case errors.Is(err, ErrNotObject):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature or algorithm not accepted"
	}
	return "rejected"
}

// LoadPublicKey reads a PEM file holding an RSA or ECDSA public key
// ("PUBLIC KEY" or "RSA PUBLIC KEY") or a certificate. A private key is
// refused: the gateway and publisher only verify, and should never hold
// the signing key.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("JWT public key: %w", err)
	}
	return ParsePublicKey(data)
}

// ParsePublicKey parses the first PEM block of data as LoadPublicKey does.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("JWT public key: no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("JWT public key: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("JWT public key: %w", err)
		}
		return k, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("JWT public key: %w", err)
		}
		return cert.PublicKey, nil
	}
	if strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("JWT public key: the file holds a %s; give the service only the public key", block.Type)
	}
	return nil, fmt.Errorf("JWT public key: unexpected PEM block %q", block.Type)
}
