package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// hs256Header is the usual JOSE header of an HS256 JWT.
const hs256Header = `{"alg":"HS256","typ":"JWT"}`

// signRaw builds an HS256 JWT from a header and a payload given as raw
// JSON, so a test controls member order, duplicates and case exactly (a
// map of claims could not hold "exp" and "EXP" in a chosen order).
func signRaw(header, payload, secret string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestVerifyClaimNamesExact: claim names are case-sensitive (RFC 7519 §4)
// and NumericDates are numbers (§2). A token whose claim set holds a case
// variant or a duplicate of a claim ssegate reads, a date given as a
// string, or a crit header (RFC 7515 §4.1.11) is refused with a reason
// naming the claim; other members are ignored whatever their case.
func TestVerifyClaimNamesExact(t *testing.T) {
	t.Parallel()
	now := time.Now()
	past, future := now.Add(-time.Hour).Unix(), now.Add(time.Hour).Unix()
	v, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret), Audience: "ssegate", Issuer: "backend"})
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf(`"aud":"ssegate","iss":"backend","exp":%d`, future)
	tests := []struct {
		name, header, payload string
		want                  error  // nil = accepted
		reason                string // part of the reason
	}{
		{"exact names", hs256Header, `{` + base + `,"ssegate.subscribe":["a"]}`, nil, ""},
		{"escaped exact name", hs256Header, fmt.Sprintf(`{"aud":"ssegate","iss":"backend","\u0065xp":%d}`, future), nil, ""},
		{"fractional exp", hs256Header, fmt.Sprintf(`{"aud":"ssegate","iss":"backend","exp":%d.5}`, future), nil, ""},
		{"unknown members in any case", hs256Header, `{` + base + `,"name":"x","NAME":"y","Email":1}`, nil, ""},
		{"exp past, EXP future", hs256Header, fmt.Sprintf(`{"aud":"ssegate","iss":"backend","exp":%d,"EXP":%d}`, past, future), ErrClaimCaseVariant, `claim "exp"`},
		{"EXP only", hs256Header, fmt.Sprintf(`{"aud":"ssegate","iss":"backend","EXP":%d}`, future), ErrClaimCaseVariant, `claim "exp"`},
		{"AUD overriding aud", hs256Header, fmt.Sprintf(`{"aud":"other","AUD":"ssegate","iss":"backend","exp":%d}`, future), ErrClaimCaseVariant, `claim "aud"`},
		{"Iss overriding iss", hs256Header, fmt.Sprintf(`{"aud":"ssegate","iss":"evil","Iss":"backend","exp":%d}`, future), ErrClaimCaseVariant, `claim "iss"`},
		{"Unicode fold of sub", hs256Header, `{` + base + `,"ſub":"x"}`, ErrClaimCaseVariant, `claim "sub"`},
		{"upper-case subscribe claim", hs256Header, `{` + base + `,"SSEGATE.SUBSCRIBE":["*"]}`, ErrClaimCaseVariant, `claim "ssegate.subscribe"`},
		{"mixed-case publish claim", hs256Header, `{` + base + `,"Ssegate.Publish":["*"]}`, ErrClaimCaseVariant, `claim "ssegate.publish"`},
		{"duplicate exp", hs256Header, fmt.Sprintf(`{"aud":"ssegate","iss":"backend","exp":%d,"exp":%d}`, past, future), ErrClaimDuplicate, `claim "exp" appears more than once`},
		{"exp as a string", hs256Header, fmt.Sprintf(`{"aud":"ssegate","iss":"backend","exp":"%d"}`, future), ErrClaimType, `claim "exp" has the wrong JSON type (want a NumericDate`},
		{"nbf as a string", hs256Header, `{` + base + fmt.Sprintf(`,"nbf":"%d"}`, past), ErrClaimType, `claim "nbf"`},
		{"iat as a string", hs256Header, `{` + base + fmt.Sprintf(`,"iat":"%d"}`, past), ErrClaimType, `claim "iat"`},
		{"exp null", hs256Header, `{"aud":"ssegate","iss":"backend","exp":null}`, ErrClaimType, `claim "exp"`},
		{"sub a number", hs256Header, `{` + base + `,"sub":7}`, ErrClaimType, `claim "sub"`},
		{"subscribe claim a string", hs256Header, `{` + base + `,"ssegate.subscribe":"*"}`, ErrClaimType, `claim "ssegate.subscribe"`},
		{"crit header", `{"alg":"HS256","typ":"JWT","crit":["exp"]}`, `{` + base + `}`, ErrCriticalHeader, "crit"},
		{"empty crit header", `{"alg":"HS256","typ":"JWT","crit":[]}`, `{` + base + `}`, ErrCriticalHeader, "crit"},
		{"claims not an object", hs256Header, `["exp"]`, ErrNotObject, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.Verify(signRaw(tt.header, tt.payload, testSecret))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) || !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want a VerifyError wrapping %v", err, tt.want)
			}
			if !strings.Contains(ve.Reason, tt.reason) {
				t.Fatalf("reason %q does not say %q", ve.Reason, tt.reason)
			}
		})
	}
}

// TestCaseVariantRefusedWith401: through both authorizers, a case-variant
// claim is a 401 invalid_token whose message names the claim, not a grant.
func TestCaseVariantRefusedWith401(t *testing.T) {
	t.Parallel()
	future := time.Now().Add(time.Hour).Unix()
	v, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := NewSubscriber(SubscriberConfig{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublisher(PublisherConfig{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	tok := signRaw(hs256Header, fmt.Sprintf(`{"exp":%d,"SSEGATE.SUBSCRIBE":["news"],"SSEGATE.PUBLISH":["news"]}`, future), testSecret)
	r := httptest.NewRequest(http.MethodGet, "/api/sse/stream", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	_, err = sub.Authenticate(r, []string{"news"})
	wantStatus(t, err, http.StatusUnauthorized, challengeInvalid)
	wantMessage(t, err, "case")
	wantStatus(t, pub.Authorize(r, "news"), http.StatusUnauthorized, challengeInvalid)
	wantMessage(t, pub.Authorize(r, "news"), "case")
}

// TestPatternLengthFollowsMaxTopicLen: patterns in claims are bounded by
// the configured topic length (SSEGATE_MAX_TOPIC_LEN), not the default.
func TestPatternLengthFollowsMaxTopicLen(t *testing.T) {
	t.Parallel()
	now := time.Now()
	long := strings.Repeat("t", 200)
	tok := signRaw(hs256Header, fmt.Sprintf(`{"exp":%d,"ssegate.subscribe":[%q],"ssegate.publish":[%q]}`, now.Add(time.Hour).Unix(), long, long+"*"), testSecret)
	s := Settings{JWTSecret: testSecret, SubscribeAuth: SubscribeJWT, MaxTopicLen: 300}
	sub, err := s.Subscriber(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.Publisher(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/sse/stream", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := sub.Authenticate(r, []string{long}); err != nil {
		t.Fatalf("subscribe to a 200-byte topic with max 300: %v", err)
	}
	wantStatus(t, pub.Authorize(r, long+":x"), 0, "")

	short, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret), MaxTopicLen: 199})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Verify(tok); err == nil || !strings.Contains(err.Error(), "invalid topic pattern") {
		t.Fatalf("200-byte pattern with max 199: %v", err)
	}
	def, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := def.Verify(tok); err == nil {
		t.Fatal("200-byte pattern accepted with the default maximum (128)")
	}
}

// wantMessage checks the refusal's message contains part.
func wantMessage(t *testing.T, err error, part string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), part) {
		t.Fatalf("refusal %v does not say %q", err, part)
	}
}
