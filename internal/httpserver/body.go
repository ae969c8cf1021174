package httpserver

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// DefaultBodyReadTimeout is how long a request body may take to arrive when
// Options.BodyReadTimeout is not set.
const DefaultBodyReadTimeout = 10 * time.Second

// IsBodyTimeout reports whether err, returned by reading a request body,
// means the body did not arrive within its read deadline (HTTP/1.x reports
// the connection's deadline, HTTP/2 the stream's; both wrap
// os.ErrDeadlineExceeded).
func IsBodyTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// bodyDeadline bounds the time a request body may take to arrive, without
// touching requests that carry none (every event stream) and without
// net/http's ReadTimeout, which would apply to every request on the
// connection.
//
// For a request with a body on a non-stream route it sets a read deadline
// of timeout from now (http.ResponseController: the connection's on
// HTTP/1.x, the stream's on HTTP/2) and lifts it when the handler reads
// the body to its end, so the rest of the request — a slow broker call,
// the connection's next request — is not cut (net/http also lifts an
// HTTP/1.x connection's deadline itself at the body's end, when it starts
// watching for the client going away). A body that is still arriving at
// the deadline makes the read fail (IsBodyTimeout).
//
// A handler that answers with an error without reading the body (a 401,
// a 404, a 415, the 408 itself) must not wait for it either: net/http reads
// up to 256 KiB of an unread HTTP/1.x body before it writes the answer, and
// again when it closes the body after it, at the client's pace. For those
// answers it sets "Connection: close" and moves the read deadline to now,
// so net/http answers at once and then closes the connection. It first
// discards what has already arrived (discardArrived, at most 100 ms), so the
// close does not reset a connection whose client is reading its answer. (On HTTP/2
// an unread body is simply reset with its stream, and "Connection: close"
// would make net/http end the whole connection, so it is left alone there.)
//
// Stream routes get no deadline: an SSE request has no body, and a
// deadline left on the connection would end the stream.
//
// contextcheck takes the r.Context() inside an echo handler for a fresh
// context (it knows only net/http's handler shape); it is the request's own.
//
//nolint:contextcheck // a false positive, see above
func bodyDeadline(timeout time.Duration, streams map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(c.Response())}
			if !streams[c.Path()] && b.rc.SetReadDeadline(time.Now().Add(timeout)) == nil {
				r2 := r.WithContext(r.Context())
				r2.Body = b
				c.SetRequest(r2)
			}
			err := next(c)
			if err != nil && !b.eof.Load() && r.ProtoMajor == 1 {
				c.Response().Header().Set("Connection", "close")
				b.discardArrived()
			}
			return err
		}
	}
}

// What an error answer on an unread body still reads of it: what has
// already arrived, up to unreadDrainBytes, for at most unreadDrainTime.
// Unread bytes left in the socket make the kernel reset the connection when
// net/http closes it, and a reset can destroy the answer before the client
// reads it (RFC 9112 §9.6); a client that sends slowly only delays its own
// answer by unreadDrainTime.
const (
	unreadDrainBytes = 256 << 10
	unreadDrainTime  = 100 * time.Millisecond
)

// discardArrived reads what has arrived of the body within unreadDrainTime,
// then moves the read deadline to now, so net/http answers at once and
// closes the connection.
func (b *deadlineBody) discardArrived() {
	if b.rc.SetReadDeadline(time.Now().Add(unreadDrainTime)) == nil {
		_, _ = io.CopyN(io.Discard, b.ReadCloser, unreadDrainBytes)
	}
	_ = b.rc.SetReadDeadline(time.Now())
}

// deadlineBody lifts the read deadline when the body has been read to its
// end.
type deadlineBody struct {
	io.ReadCloser
	rc  *http.ResponseController
	eof atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.eof.Swap(true) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
