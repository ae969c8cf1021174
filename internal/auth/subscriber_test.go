package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/httperr"
)

// TestSubscriberMissingTokenTellsBrowsersHow: the stream's 401 names the
// cookie and access_token, the two ways an EventSource can send a token,
// not only an Authorization header, which it cannot send.
func TestSubscriberMissingTokenTellsBrowsersHow(t *testing.T) {
	t.Parallel()
	v, err := NewVerifier(VerifierConfig{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSubscriber(SubscriberConfig{Verifier: v, Cookie: "app_jwt"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(httptest.NewRequest(http.MethodGet, "/api/sse/stream", nil), []string{"news"})
	var he *httperr.Error
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || he.Code != "missing_token" {
		t.Fatalf("error %v, want 401 missing_token", err)
	}
	for _, want := range []string{`cookie "app_jwt"`, "access_token", "EventSource"} {
		if !strings.Contains(he.Message, want) {
			t.Errorf("message %q does not mention %s", he.Message, want)
		}
	}
}
