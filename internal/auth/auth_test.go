package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssegate/ssegate/internal/httperr"
)

func TestBearer(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", MaxTokenLen+1)
	tests := []struct {
		header, want string
		err          error
	}{
		{"", "", ErrNoToken},
		{"Bearer abc", "abc", nil},
		{"bearer abc", "abc", nil},
		{"BEARER   a.b-c_d~e+f/g==", "a.b-c_d~e+f/g==", nil},
		{"Bearer", "", ErrMalformedToken},
		{"Bearer ", "", ErrMalformedToken},
		{"Basic dXNlcjpwYXNz", "", ErrMalformedToken},
		{"Bearer a b", "", ErrMalformedToken},
		{"Bearer a=b", "", ErrMalformedToken},
		{"Bearer ===", "", ErrMalformedToken},
		{"Bearer abc\x00", "", ErrMalformedToken},
		{"Bearer ab\xffc", "", ErrMalformedToken},
		{"Bearer\tabc", "", ErrMalformedToken},
		{"Bearer " + long, "", ErrMalformedToken},
	}
	for _, tt := range tests {
		got, err := Bearer(tt.header)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Bearer(%.40q) = %q, %v; want %q, %v", tt.header, got, err, tt.want, tt.err)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("# backend\nfile-token-1\r\n\n  file-token-2  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := ReadTokensFile(file)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := NewTokens(append([]string{"env-token", " ", ""}, fromFile...))
	if err != nil {
		t.Fatal(err)
	}
	if toks.Len() != 3 {
		t.Fatalf("Len = %d, want 3", toks.Len())
	}
	for _, tt := range []struct {
		tok  string
		want bool
	}{
		{"env-token", true}, {"file-token-1", true}, {"file-token-2", true},
		{"env-toke", false}, {"env-token2", false}, {"", false}, {"# backend", false}, {"ENV-TOKEN", false},
	} {
		if got := toks.Match(tt.tok); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.tok, got, tt.want)
		}
	}
	if _, err := NewTokens([]string{"has space"}); err == nil {
		t.Error("NewTokens accepted a token with a space")
	}
	if _, err := ReadTokensFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadTokensFile of a missing file succeeded")
	}
	var none *Tokens
	if none.Match("x") || none.Len() != 0 {
		t.Error("nil Tokens matched")
	}
}

// TestVerifyForgedTokens is the table of attacks on JWT verification:
// each must be refused with the stated reason.
func TestVerifyForgedTokens(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	now := time.Now()
	hs, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret), Audience: "ssegate", Issuer: "backend"})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewVerifier(VerifierConfig{PublicKey: &k.rsa.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	es, err := NewVerifier(VerifierConfig{PublicKey: &k.ec.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	both, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret), PublicKey: &k.rsa.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	good := jwt.MapClaims{"aud": "ssegate", "iss": "backend"}
	rsaPEM := pemBytes(t, "PUBLIC KEY", pkix(t, &k.rsa.PublicKey))
	tests := []struct {
		name   string
		v      *Verifier
		token  string
		reason string // "" = accepted
	}{
		{"valid HS256", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, good)), ""},
		{"valid RS256", rs, sign(t, jwt.SigningMethodRS256, k.rsa, claims(now, nil)), ""},
		{"valid ES256", es, sign(t, jwt.SigningMethodES256, k.ec, claims(now, nil)), ""},
		{"valid HS256 with both keys", both, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, nil)), ""},
		{"valid RS256 with both keys", both, sign(t, jwt.SigningMethodRS256, k.rsa, claims(now, nil)), ""},
		{"wrong HMAC key", hs, sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claims(now, good)), "signature or algorithm not accepted"},
		{"wrong RSA key", rs, sign(t, jwt.SigningMethodRS256, k.rsa2, claims(now, nil)), "signature or algorithm not accepted"},
		{"alg none", hs, unsigned(t, claims(now, good)), "signature or algorithm not accepted"},
		{"alg none with both keys", both, unsigned(t, claims(now, nil)), "signature or algorithm not accepted"},
		{"RS256 token against HS256 secret", hs, sign(t, jwt.SigningMethodRS256, k.rsa, claims(now, good)), "signature or algorithm not accepted"},
		{"HS256 signed with the RSA public key PEM (algorithm confusion)", rs, sign(t, jwt.SigningMethodHS256, rsaPEM, claims(now, nil)), "signature or algorithm not accepted"},
		{"HS256 signed with the RSA public key PEM, both keys", both, sign(t, jwt.SigningMethodHS256, rsaPEM, claims(now, nil)), "signature or algorithm not accepted"},
		{"HS384 not pinned", hs, sign(t, jwt.SigningMethodHS384, []byte(testSecret), claims(now, good)), "signature or algorithm not accepted"},
		{"ES256 token against RSA key", rs, sign(t, jwt.SigningMethodES256, k.ec, claims(now, nil)), "signature or algorithm not accepted"},
		{"expired", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"aud": "ssegate", "iss": "backend", "exp": now.Add(-time.Minute).Unix()})), "expired"},
		{"no exp", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"aud": "ssegate", "iss": "backend", "exp": nil})), "a required claim is missing"},
		{"not valid yet", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"aud": "ssegate", "iss": "backend", "nbf": now.Add(time.Hour).Unix()})), "not valid yet"},
		{"wrong audience", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"aud": "other", "iss": "backend"})), "wrong audience"},
		{"no audience", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"iss": "backend"})), "a required claim is missing"},
		{"wrong issuer", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"aud": "ssegate", "iss": "evil"})), "wrong issuer"},
		{"bad topic pattern", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"aud": "ssegate", "iss": "backend", PublishClaim: []string{"a b"}})), "invalid topic pattern in claims"},
		{"claim of wrong type", hs, sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{"aud": "ssegate", "iss": "backend", PublishClaim: "spools:*"})), `claim "ssegate.publish" has the wrong JSON type (want an array of topic patterns)`},
		{"garbage", hs, "not.a.jwt", "malformed"},
		{"two parts", hs, "abc.def", "malformed"},
		{"empty", hs, "", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.v.Verify(tt.token)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a VerifyError %q", err, tt.reason)
			}
			if ve.Reason != tt.reason {
				t.Fatalf("reason = %q (%v), want %q", ve.Reason, ve.Err, tt.reason)
			}
			if strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Fatal("error message contains the token")
			}
		})
	}
}

func TestNewVerifierRejectsWeakKeys(t *testing.T) {
	t.Parallel()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]VerifierConfig{
		"no key":       {},
		"short secret": {Secret: []byte("short")},
		"P-384 key":    {PublicKey: &p384.PublicKey},
		"wrong type":   {PublicKey: "not a key"},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: NewVerifier succeeded", name)
		}
	}
}

func TestLoadPublicKey(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	tests := []struct {
		name    string
		typ     string
		der     []byte
		wantErr bool
	}{
		{"PKIX RSA", "PUBLIC KEY", pkix(t, &k.rsa.PublicKey), false},
		{"PKIX ECDSA", "PUBLIC KEY", pkix(t, &k.ec.PublicKey), false},
		{"PKCS1 RSA", "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey), false},
		{"private key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa), true},
		{"garbage", "PUBLIC KEY", []byte("garbage"), true},
		{"other block", "FOO", []byte("x"), true},
	}
	for _, tt := range tests {
		key, err := LoadPublicKey(writePEM(t, tt.typ, tt.der))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: LoadPublicKey = %T, %v", tt.name, key, err)
		}
	}
	if _, err := ParsePublicKey([]byte("no pem here")); err == nil {
		t.Error("ParsePublicKey accepted non-PEM")
	}
}

// wantStatus checks err is an *httperr.Error with status and, for 401, the
// RFC 6750 challenge.
func wantStatus(t *testing.T, err error, status int, challenge string) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var he *httperr.Error
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want an httperr %d", err, status)
	}
	if he.Status != status {
		t.Fatalf("status = %d (%v), want %d", he.Status, he, status)
	}
	if got := he.Header.Get("WWW-Authenticate"); got != challenge {
		t.Fatalf("WWW-Authenticate = %q, want %q", got, challenge)
	}
}

const (
	challengeMissing = `Bearer realm="ssegate"`
	challengeInvalid = `Bearer realm="ssegate", error="invalid_token"`
	challengeScope   = `Bearer realm="ssegate", error="insufficient_scope"`
)

func TestPublisherAuthorize(t *testing.T) {
	t.Parallel()
	now := time.Now()
	v, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := NewTokens([]string{"static-token"})
	if err != nil {
		t.Fatal(err)
	}
	strict, err := NewPublisher(PublisherConfig{Tokens: toks, Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	anon, err := NewPublisher(PublisherConfig{Tokens: toks, AllowAnonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	spools := sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{PublishClaim: []string{"spools:*"}}))
	tests := []struct {
		name      string
		p         *Publisher
		header    string
		topic     string
		status    int
		challenge string
	}{
		{"static token, any topic", strict, "Bearer static-token", "anything", 0, ""},
		{"jwt, granted prefix", strict, "Bearer " + spools, "spools:updates", 0, ""},
		{"jwt, other topic", strict, "Bearer " + spools, "orders:1", http.StatusForbidden, challengeScope},
		{"jwt, bare prefix is not covered", strict, "Bearer " + spools, "spools", http.StatusForbidden, challengeScope},
		{"missing", strict, "", "spools:updates", http.StatusUnauthorized, challengeMissing},
		{"wrong scheme", strict, "Basic c3RhdGljLXRva2Vu", "spools:updates", http.StatusUnauthorized, challengeInvalid},
		{"unknown static token", strict, "Bearer static-tokem", "spools:updates", http.StatusUnauthorized, challengeInvalid},
		{"anonymous allowed", anon, "", "x", 0, ""},
		{"anonymous mode still checks a presented token", anon, "Bearer nope", "x", http.StatusUnauthorized, challengeInvalid},
		{"no verifier: jwt is unknown", anon, "Bearer " + spools, "spools:updates", http.StatusUnauthorized, challengeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/v1/events", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			wantStatus(t, tt.p.Authorize(r, tt.topic), tt.status, tt.challenge)
		})
	}
	if _, err := NewPublisher(PublisherConfig{}); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("NewPublisher with nothing = %v, want ErrNoCredentials", err)
	}
}

func TestSubscriberAuthenticate(t *testing.T) {
	t.Parallel()
	now := time.Now()
	v, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSubscriber(SubscriberConfig{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	exp := now.Add(time.Hour).Truncate(time.Second)
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{SubscribeClaim: []string{"spools:*", "news"}, "exp": exp.Unix()}))
	pubOnly := sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(now, jwt.MapClaims{PublishClaim: []string{"*"}}))
	tests := []struct {
		name      string
		header    string
		cookie    string
		query     string
		topics    []string
		status    int
		challenge string
	}{
		{"header", "Bearer " + tok, "", "", []string{"news", "spools:updates"}, 0, ""},
		{"cookie", "", tok, "", []string{"spools:updates"}, 0, ""},
		{"query", "", "", "access_token=" + tok, []string{"spools:updates"}, 0, ""},
		{"header wins over a bad cookie", "Bearer " + tok, "garbage", "", []string{"news"}, 0, ""},
		{"one topic not granted", "Bearer " + tok, "", "", []string{"news", "secret"}, http.StatusForbidden, challengeScope},
		{"publish claim does not grant subscribe", "Bearer " + pubOnly, "", "", []string{"news"}, http.StatusForbidden, challengeScope},
		{"nothing", "", "", "", []string{"news"}, http.StatusUnauthorized, challengeMissing},
		{"bad header", "Bearer a b", "", "", []string{"news"}, http.StatusUnauthorized, challengeInvalid},
		{"bad cookie", "", "x.y.z", "", []string{"news"}, http.StatusUnauthorized, challengeInvalid},
		{"two access_tokens", "", "", "access_token=" + tok + "&access_token=" + tok, []string{"news"}, http.StatusUnauthorized, challengeInvalid},
		{"alg none in cookie", "", unsigned(t, claims(now, jwt.MapClaims{SubscribeClaim: []string{"*"}})), "", []string{"news"}, http.StatusUnauthorized, challengeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/api/sse/stream?"+tt.query, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: DefaultCookie, Value: tt.cookie})
			}
			g, err := s.Authenticate(r, tt.topics)
			wantStatus(t, err, tt.status, tt.challenge)
			if tt.status == 0 && !g.Expires.Equal(exp) {
				t.Fatalf("grant expires %v, want %v", g.Expires, exp)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	k := keysOnce()
	keyFile := writePEM(t, "PUBLIC KEY", pkix(t, &k.ec.PublicKey))
	tests := []struct {
		name       string
		s          Settings
		pubErr     error // nil = builds; errAny = any error
		subErr     bool
		subEnabled bool
	}{
		{"nothing", Settings{}, ErrNoCredentials, false, false},
		{"anonymous", Settings{AllowAnonymous: true}, nil, false, false},
		{"tokens", Settings{PublishTokens: "a,b"}, nil, false, false},
		{"jwt secret, subscribe jwt", Settings{JWTSecret: testSecret, SubscribeAuth: SubscribeJWT}, nil, false, true},
		{"jwt public key, subscribe jwt", Settings{JWTPublicKeyFile: keyFile, SubscribeAuth: SubscribeJWT}, nil, false, true},
		{"subscribe jwt without key", Settings{PublishTokens: "a", SubscribeAuth: SubscribeJWT}, nil, true, false},
		{"unknown subscribe mode", Settings{PublishTokens: "a", SubscribeAuth: "basic"}, nil, true, false},
		{"short secret", Settings{JWTSecret: "short"}, errAny, true, false},
		{"missing tokens file", Settings{PublishTokensFile: filepath.Join(t.TempDir(), "nope")}, errAny, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.s.Publisher(nil)
			switch {
			case tt.pubErr == nil && err != nil:
				t.Errorf("Publisher: %v", err)
			case errors.Is(tt.pubErr, errAny) && err == nil, tt.pubErr != nil && !errors.Is(tt.pubErr, errAny) && !errors.Is(err, tt.pubErr):
				t.Errorf("Publisher = %v, want %v", err, tt.pubErr)
			}
			if tt.s.SubscribeAuth == "" && tt.name != "short secret" {
				return
			}
			s := tt.s
			if s.SubscribeAuth == "" {
				s.SubscribeAuth = SubscribeJWT
			}
			a, err := s.Subscriber(nil)
			if (err != nil) != tt.subErr {
				t.Errorf("Subscriber: %v", err)
			}
			if (a != nil) != tt.subEnabled {
				t.Errorf("Subscriber = %v, enabled want %v", a, tt.subEnabled)
			}
		})
	}
}

// errAny marks a table entry that expects some error.
var errAny = errors.New("any error")
