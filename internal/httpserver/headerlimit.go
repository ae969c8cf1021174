package httpserver

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
)

// DefaultMaxHeaderBytes is the request header limit when Options leaves it 0.
const DefaultMaxHeaderBytes = 16 << 10

// maxHeaderBytes returns the configured header limit or the default.
func (o Options) maxHeaderBytes() int {
	if o.MaxHeaderBytes > 0 {
		return o.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// headerSize returns the size of r's request line and header block as an
// HTTP/1.1 client sends it: "METHOD target PROTO\r\n", one "Name: value\r\n"
// per field (Host included, which net/http moves out of r.Header) and the
// closing "\r\n". On HTTP/2 it counts the decoded fields the same way.
func headerSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + 2
	}
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + 2 + len(v) + 2
		}
	}
	return n + 2
}

// headerLimit answers 431 to a request whose header block is larger than
// max bytes. net/http's own MaxHeaderBytes check lets up to 4096 bytes more
// through ("bufio slop"), so on its own the documented limit would not be
// the real one; net/http still cuts off anything beyond that (with a plain
// text 431) before it is buffered.
func headerLimit(max int) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if n := headerSize(c.Request()); n > max {
				return httperr.New(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large",
					fmt.Sprintf("the request line and headers are %d bytes; at most %d are accepted", n, max))
			}
			return next(c)
		}
	}
}
