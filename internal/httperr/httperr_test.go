package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	withHeader := New(http.StatusUnauthorized, "invalid_token", "bad token")
	withHeader.Header = http.Header{"Www-Authenticate": {`Bearer realm="ssegate"`}}
	tests := []struct {
		name       string
		method     string
		err        error
		status     int
		code       string
		retryAfter string
		header     string
	}{
		{"own error", http.MethodGet, BadRequest("invalid_topic", "bad"), 400, "invalid_topic", "", ""},
		{"wrapped own error", http.MethodGet, fmt.Errorf("ctx: %w", TooMany("limit", "slow down", 1500*time.Millisecond)), 429, "limit", "2", ""},
		{"unavailable", http.MethodGet, Unavailable("redis_unavailable", "down", time.Second), 503, "redis_unavailable", "1", ""},
		{"extra header", http.MethodGet, withHeader, 401, "invalid_token", "", `Bearer realm="ssegate"`},
		{"echo 404", http.MethodGet, echo.ErrNotFound, 404, "not_found", "", ""},
		{"echo 405", http.MethodGet, echo.ErrMethodNotAllowed, 405, "method_not_allowed", "", ""},
		{"echo 413", http.MethodPost, echo.NewHTTPError(http.StatusRequestEntityTooLarge), 413, "body_too_large", "", ""},
		{"anything else is a 500 that says nothing", http.MethodGet, errors.New("secret detail"), 500, "internal", "", ""},
		{"HEAD has no body", http.MethodHead, BadRequest("x", "y"), 400, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := echo.New()
			rec := httptest.NewRecorder()
			c := e.NewContext(httptest.NewRequest(tt.method, "/", nil), rec)
			Handler(slog.New(slog.DiscardHandler))(tt.err, c)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.header {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.header)
			}
			if tt.method == http.MethodHead {
				if rec.Body.Len() != 0 {
					t.Fatalf("HEAD body %q", rec.Body.String())
				}
				return
			}
			var b struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q: %v", rec.Body.String(), err)
			}
			if b.Error.Code != tt.code || b.Error.Message == "" {
				t.Fatalf("body %+v, want code %q and a message", b, tt.code)
			}
			if b.Error.Message == "secret detail" {
				t.Fatal("internal error text leaked")
			}
		})
	}
}

func TestCommittedResponseIsLeftAlone(t *testing.T) {
	t.Parallel()
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
	_ = c.String(http.StatusOK, "stream")
	Handler(slog.New(slog.DiscardHandler))(BadRequest("x", "y"), c)
	if rec.Code != http.StatusOK || rec.Body.String() != "stream" {
		t.Fatalf("committed response changed: %d %q", rec.Code, rec.Body.String())
	}
}
