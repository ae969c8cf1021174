// Package auth verifies the credentials of ssegate's two kinds of callers
// and turns failures into RFC 6750 answers.
//
// Publishers (the backend) present "Authorization: Bearer <token>" where the
// token is either a static API token, compared in constant time, or a JWT
// whose "ssegate.publish" claim lists the topic patterns it may publish to.
// Subscribers (browsers) present a JWT in a cookie, the Authorization header
// or the access_token query parameter, whose "ssegate.subscribe" claim lists
// the topic patterns they may read. Patterns are exact topic names or
// prefixes ending in "*" (internal/topic.Match).
//
// JWTs are verified with github.com/golang-jwt/jwt/v5 pinned to the
// algorithms of the configured keys (HS256 for a shared secret, RS256 or
// ES256 for a public key), so "alg": "none" and algorithm confusion (an
// RS256 public key used as an HMAC secret) are refused by construction; an
// "exp" claim is required, and "aud" and "iss" when configured. Claim
// names are matched exactly (RFC 7519 §4): a token holding a case variant
// ("EXP", "Aud") or a duplicate of a claim read here, a NumericDate given
// as a string, or a "crit" header is refused (claims.go). Topic patterns
// in claims are bounded by the configured topic length (MaxTopicLen).
//
// Every refusal is an *httperr.Error: 401 with a WWW-Authenticate challenge
// when the credential is missing or invalid, 403 when a valid credential
// does not cover the topic. Token values never appear in errors or logs.
package auth

import (
	"fmt"
	"net/http"

	"github.com/ssegate/ssegate/internal/httperr"
)

// Realm is the protection space named in WWW-Authenticate challenges.
const Realm = "ssegate"

// MaxTokenLen bounds a presented token. Real tokens are a few hundred bytes;
// anything longer is refused before any parsing.
const MaxTokenLen = 8 << 10

// missing is the 401 for a request without a credential; message says how
// to send one. RFC 6750 §3.1: a request that lacks authentication
// information gets a challenge without an error code.
func missing(message string) *httperr.Error {
	e := httperr.New(http.StatusUnauthorized, "missing_token", message)
	e.Header = http.Header{"Www-Authenticate": {fmt.Sprintf("Bearer realm=%q", Realm)}}
	return e
}

// invalid is the 401 for a credential that failed verification. why is one
// of a small fixed set of phrases (never the token or a key).
func invalid(why string) *httperr.Error {
	e := httperr.New(http.StatusUnauthorized, "invalid_token", "the bearer token is not valid: "+why)
	e.Header = http.Header{"Www-Authenticate": {fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\"", Realm)}}
	return e
}

// forbidden is the 403 for a valid credential that does not cover topic.
// RFC 6750 §3.1 names this insufficient_scope.
func forbidden(action, topic string) *httperr.Error {
	e := httperr.New(http.StatusForbidden, "forbidden_topic", fmt.Sprintf("the token does not allow %s topic %q", action, topic))
	e.Header = http.Header{"Www-Authenticate": {fmt.Sprintf("Bearer realm=%q, error=\"insufficient_scope\"", Realm)}}
	return e
}
