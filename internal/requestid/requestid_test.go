package requestid

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	e := echo.New()
	e.Use(Middleware("/stream"))
	var seen string
	handler := func(c echo.Context) error {
		seen = Of(c)
		return c.NoContent(http.StatusNoContent)
	}
	e.GET("/req", handler)
	e.GET("/stream", handler)
	tests := []struct {
		name     string
		path     string
		incoming string
		keep     bool // the incoming id is used
		none     bool // no id at all
	}{
		{"generated", "/req", "", false, false},
		{"caller's token kept", "/req", "nginx-8f3a2c", true, false},
		{"caller's id with a space replaced", "/req", "a b", false, false},
		{"caller's id with a newline replaced", "/req", "a\nforged=1", false, false},
		{"caller's overlong id replaced", "/req", strings.Repeat("x", maxLen+1), false, false},
		{"caller's id at the limit kept", "/req", strings.Repeat("x", maxLen), true, false},
		{"stream route skipped", "/stream", "", false, true},
	}
	generated := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.incoming != "" {
				req.Header[Header] = []string{tt.incoming}
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			got := rec.Header().Get(Header)
			switch {
			case tt.none:
				if got != "" || seen != "" {
					t.Fatalf("id %q / %q on a skipped route", got, seen)
				}
				return
			case got == "" || got != seen:
				t.Fatalf("response id %q, handler saw %q", got, seen)
			case tt.keep && got != tt.incoming:
				t.Fatalf("id %q, want the caller's %q", got, tt.incoming)
			case !tt.keep && (got == tt.incoming || !valid(got) || generated[got]):
				t.Fatalf("generated id %q: reused, invalid or a repeat", got)
			}
			if !tt.keep {
				generated[got] = true
			}
		})
	}
}
