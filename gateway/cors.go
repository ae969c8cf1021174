package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/redact"
)

// streamPath is the route of the SSE stream.
const streamPath = "/api/sse/stream"

// CORS preflight answers (Fetch standard, "CORS protocol"). The allowed
// request headers are those an SSE polyfill or a publishing page sends.
const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Last-Event-ID, Idempotency-Key"
	corsMaxAge  = 10 * time.Minute
)

// ParseCORSOrigins validates an allowlist of origins, each
// scheme://host[:port] with nothing after it, or "*". Origins are compared
// as the browser serialises them (RFC 6454 §6.1): lower-case scheme and
// host, no default port, no trailing slash; ParseCORSOrigins returns them
// in that form so a configuration typo fails at start rather than
// silently never matching.
func ParseCORSOrigins(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, o := range list {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("CORS origin %q: want scheme://host[:port], e.g. https://app.example.com", redact.URL(o))
		}
		host := strings.ToLower(u.Hostname())
		port := u.Port()
		if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
			port = ""
		}
		if port != "" {
			host = net.JoinHostPort(host, port)
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		out = append(out, strings.ToLower(u.Scheme)+"://"+host)
	}
	return out, nil
}

// corsPolicy is the parsed allowlist.
type corsPolicy struct {
	exact map[string]bool // origins answered with credentials
	any   bool            // "*": any origin, without credentials
}

func newCORSPolicy(origins []string) corsPolicy {
	p := corsPolicy{exact: make(map[string]bool, len(origins))}
	for _, o := range origins {
		if o == "*" {
			p.any = true
			continue
		}
		p.exact[strings.ToLower(o)] = true
	}
	return p
}

// allow reports whether origin may read responses and whether it may send
// credentials (cookies).
func (p corsPolicy) allow(origin string) (ok, credentials bool) {
	if p.exact[strings.ToLower(origin)] {
		return true, true
	}
	return p.any, false
}

// sameOrigin reports whether the Origin header names the host the request
// was sent to (the Host header), ignoring the scheme, which TLS termination
// at a proxy hides. Proxies must pass the Host header through (nginx:
// proxy_set_header Host $host). "null" (sandboxed frames, file: pages) is
// never same-origin.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || host == "" {
		return false
	}
	return strings.EqualFold(stripDefaultPort(u.Host, u.Scheme), stripDefaultPort(host, u.Scheme))
}

func stripDefaultPort(hostport, scheme string) string {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	if (p == "80" && scheme == "http") || (p == "443" && scheme == "https") {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return hostport
}

// cors is the middleware that enforces Config.CORSOrigins on every route.
//
// A request without an Origin header (curl, probes, a same-origin GET
// navigation) passes untouched. A request whose Origin is on the list gets
// Access-Control-Allow-Origin (and Allow-Credentials unless only "*"
// matched); a same-origin request passes without CORS headers. Any other
// Origin gets 403 before the handler runs, so a hostile page cannot make
// the gateway subscribe to anything on its visitors' behalf. Preflights
// (OPTIONS with Access-Control-Request-Method) are answered here with 204.
func (s *Server) cors(next echo.HandlerFunc) echo.HandlerFunc {
	policy := newCORSPolicy(s.cfg.CORSOrigins)
	maxAge := strconv.Itoa(int(corsMaxAge / time.Second))
	return func(c echo.Context) error {
		r := c.Request()
		h := c.Response().Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" {
			return next(c)
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		ok, creds := policy.allow(origin)
		if !ok && !sameOrigin(origin, r.Host) {
			return httperr.New(http.StatusForbidden, "origin_not_allowed",
				fmt.Sprintf("origin %q is not allowed (SSEGATE_CORS_ORIGINS)", truncate(origin)))
		}
		if ok {
			if creds {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
			} else {
				h.Set("Access-Control-Allow-Origin", "*")
			}
		}
		if !preflight {
			return next(c)
		}
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", maxAge)
		return c.NoContent(http.StatusNoContent)
	}
}
