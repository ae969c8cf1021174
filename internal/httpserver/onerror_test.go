package httpserver

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/httperr"
)

// seen is what an ErrorHook observed of one request.
type seen struct {
	path, code string
	status     int
	committed  bool // the response was committed when the hook ran
}

// TestOnErrorSeesEveryAnswer: a hook added with OnError sees, before it is
// written, the answer the error handler sends for every kind of error (an
// *httperr.Error, an echo error, a route echo does not know, a plain error,
// a panic), and nothing for a request answered without an error or after
// the response was committed. Every hook added sees the same, and the
// answers themselves are those of the handler without hooks.
func TestOnErrorSeesEveryAnswer(t *testing.T) {
	t.Parallel()
	newEcho := func() *echo.Echo {
		e := newMetricsEcho(prometheus.NewRegistry())
		e.GET("/late", func(c echo.Context) error {
			_ = c.String(http.StatusOK, "partial")
			return errors.New("failed after the answer began")
		})
		return e
	}
	e, plain := newEcho(), newEcho()
	var first, second []seen
	hook := func(into *[]seen) ErrorHook {
		return func(c echo.Context, answer *httperr.Error) {
			*into = append(*into, seen{c.Path(), answer.Code, answer.Status, c.Response().Committed})
		}
	}
	OnError(e, hook(&first))
	OnError(e, hook(&second))
	targets := []string{"/ok", "/stream", "/busy", "/teapot", "/broken", "/panic", "/nowhere", "/late"}
	for _, target := range targets {
		got, want := serve(e, http.MethodGet, target, nil), serve(plain, http.MethodGet, target, nil)
		if got.Code != want.Code || got.Body.String() != want.Body.String() {
			t.Errorf("GET %s with hooks: %d %q, without: %d %q", target, got.Code, got.Body, want.Code, want.Body)
		}
	}
	want := []seen{
		{"/busy", "redis_unavailable", http.StatusServiceUnavailable, false},
		{"/teapot", "bad_request", http.StatusTeapot, false},
		{"/broken", "internal", http.StatusInternalServerError, false},
		{"/panic", "internal", http.StatusInternalServerError, false},
		{"", "not_found", http.StatusNotFound, false},
	}
	if !slices.Equal(first, want) {
		t.Errorf("first hook saw %+v\nwant %+v", first, want)
	}
	if len(second) != len(first) {
		t.Errorf("second hook saw %d answers, first %d", len(second), len(first))
	}
}
