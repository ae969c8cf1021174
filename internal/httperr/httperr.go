// Package httperr turns errors into HTTP answers in one place, so every
// route of both services answers failures the same way: a status code that
// follows HTTP conventions, a JSON body that names the problem for machines
// and people, and Retry-After where waiting helps.
//
//	{"error":{"code":"invalid_topic","message":"invalid topic: empty name"}}
package httperr

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/requestid"
)

// Error is an error with its HTTP answer.
type Error struct {
	Status     int
	Code       string // machine-readable, snake_case
	Message    string // for people; never echoes secrets
	RetryAfter time.Duration
	Header     http.Header // extra headers, such as WWW-Authenticate
}

// Error returns the machine code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an Error.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// BadRequest is a 400.
func BadRequest(code, message string) *Error { return New(http.StatusBadRequest, code, message) }

// Unavailable is a 503 with Retry-After.
func Unavailable(code, message string, retry time.Duration) *Error {
	e := New(http.StatusServiceUnavailable, code, message)
	e.RetryAfter = retry
	return e
}

// TooMany is a 429 with Retry-After.
func TooMany(code, message string, retry time.Duration) *Error {
	e := New(http.StatusTooManyRequests, code, message)
	e.RetryAfter = retry
	return e
}

type body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write sends e as the response.
func Write(c echo.Context, e *Error) error {
	h := c.Response().Header()
	for k, vs := range e.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	h.Set("Cache-Control", "no-store")
	var b body
	b.Error.Code, b.Error.Message = e.Code, e.Message
	return c.JSON(e.Status, b)
}

// Answer is the *Error that Handler answers err with: err's own *Error,
// an echo.HTTPError (404, 405, 413 from the body limit…) as an *Error with
// its status, or else a 500 "internal" that reveals nothing. internal
// reports the last case, an error nobody turned into an answer.
func Answer(err error) (e *Error, internal bool) {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &e):
		return e, false
	case errors.As(err, &he):
		e = New(he.Code, codeFor(he.Code), http.StatusText(he.Code))
		if msg, ok := he.Message.(string); ok && msg != "" {
			e.Message = msg
		}
		return e, false
	}
	return New(http.StatusInternalServerError, "internal", "internal server error"), true
}

// Handler is an echo.HTTPErrorHandler that sends Answer(err), logging an
// internal error. It sends nothing once the response is committed.
func Handler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		e, internal := Answer(err)
		if internal {
			log.Error("internal error", "req", requestid.Of(c), "path", c.Path(), "err", err)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(e.Status)
			return
		}
		if werr := Write(c, e); werr != nil {
			log.Debug("writing error response", "req", requestid.Of(c), "err", werr)
		}
	}
}

func codeFor(status int) (code string) {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}
