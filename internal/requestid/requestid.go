// Package requestid gives every HTTP request an id that its log lines
// carry and its response returns in X-Request-Id, so an operator can find
// the lines of one request, and a caller can quote it. A caller's (or a
// proxy's) own X-Request-Id is kept when it is a short visible-ASCII token,
// so one id follows a request through nginx and the backend.
package requestid

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/labstack/echo/v4"
)

// Header is the request and response header carrying the id.
const Header = echo.HeaderXRequestID

// maxLen bounds a caller's id: longer ones are replaced.
const maxLen = 128

// key is where the id is kept in the echo context.
const key = "ssegate.request-id"

// Middleware sets the id of every request except those on skip routes
// (streams, which log their own connection id).
func Middleware(skip ...string) echo.MiddlewareFunc {
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := hex.EncodeToString(b[:]) + "-"
	var seq atomic.Uint64
	skipped := make(map[string]bool, len(skip))
	for _, s := range skip {
		skipped[s] = true
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skipped[c.Path()] {
				return next(c)
			}
			id := c.Request().Header.Get(Header)
			if !valid(id) {
				id = prefix + strconv.FormatUint(seq.Add(1), 36)
			}
			c.Set(key, id)
			c.Response().Header().Set(Header, id)
			return next(c)
		}
	}
}

// Of returns the request's id, or "" when Middleware did not run for it.
func Of(c echo.Context) string {
	id, _ := c.Get(key).(string)
	return id
}

// valid accepts 1 to maxLen visible ASCII characters.
func valid(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
