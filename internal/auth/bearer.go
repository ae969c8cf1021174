package auth

import (
	"errors"
	"net/http"
	"strings"
)

// ErrNoToken reports a request that carries no credential at all.
var ErrNoToken = errors.New("no bearer token")

// ErrMalformedToken reports a credential that is not a well-formed bearer
// token: a different scheme, forbidden characters, or too long.
var ErrMalformedToken = errors.New("malformed bearer token")

// Bearer extracts the token from an Authorization header value.
//
// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, where the scheme is
// case-insensitive and b64token is 1*( ALPHA / DIGIT / "-" / "." / "_" /
// "~" / "+" / "/" ) *"=". An empty header is ErrNoToken; anything else that
// does not match, or a token longer than MaxTokenLen, is ErrMalformedToken.
func Bearer(header string) (string, error) {
	if header == "" {
		return "", ErrNoToken
	}
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformedToken
	}
	token := strings.TrimLeft(rest, " ")
	if err := checkToken(token); err != nil {
		return "", err
	}
	return token, nil
}

// checkToken validates the b64token syntax and length.
func checkToken(token string) error {
	if len(token) > MaxTokenLen {
		return ErrMalformedToken
	}
	body := strings.TrimRight(token, "=")
	if body == "" {
		return ErrMalformedToken
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~+/", c) >= 0:
		default:
			return ErrMalformedToken
		}
	}
	return nil
}

// Source says where a subscriber credential was found.
type Source string

// The places a subscriber credential is looked for, in this order.
const (
	FromHeader Source = "header"
	FromCookie Source = "cookie"
	FromQuery  Source = "query"
)

// SubscriberToken finds a subscriber's token: the Authorization header
// first (explicit beats ambient), then the named cookie (what browsers'
// EventSource sends, since it cannot set headers), then the access_token
// query parameter (RFC 6750 §2.3; last because URLs end up in logs).
// A header or cookie that is present but malformed is an error rather than
// a reason to look further.
func SubscriberToken(r *http.Request, cookie string) (string, Source, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, err := Bearer(h)
		return tok, FromHeader, err
	}
	if cookie != "" {
		if c, err := r.Cookie(cookie); err == nil && c.Value != "" {
			return c.Value, FromCookie, checkToken(c.Value)
		}
	}
	if q := r.URL.Query(); q.Has("access_token") {
		if vs := q["access_token"]; len(vs) != 1 {
			return "", FromQuery, ErrMalformedToken
		}
		tok := q.Get("access_token")
		return tok, FromQuery, checkToken(tok)
	}
	return "", "", ErrNoToken
}
