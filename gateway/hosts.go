package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
)

// ParseAllowedHosts validates the host names the gateway answers to
// (Config.AllowedHosts): DNS names or IP literals, without scheme, port or
// path ("events.example.com", "10.0.0.7", "::1"). It returns them
// lower-cased, without a trailing dot and IPv6 brackets, the form the
// check compares a request's Host against.
func ParseAllowedHosts(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, h := range list {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		name := normalHost(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
		if ip := net.ParseIP(name); ip == nil && (strings.ContainsAny(name, ":/@?#*[] ") || name == "") {
			return nil, fmt.Errorf("allowed host %q: want a host name or IP address without scheme or port, e.g. events.example.com", h)
		}
		out = append(out, name)
	}
	return out, nil
}

// normalHost is name as the check compares it.
func normalHost(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// hostOf is the host name of a Host header, without its port.
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return normalHost(h)
	}
	return normalHost(strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"))
}

// probeRoutes are answered whatever the Host: orchestrators and scrapers
// address a replica by its IP, and these routes carry nothing a hostile
// page could use.
var probeRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// hostCheck is the middleware that enforces Config.AllowedHosts (when set)
// on every route but probeRoutes: a request whose Host names another host
// gets 421 Misdirected Request (RFC 9110 §15.5.20, "not able to produce a
// response" for that authority), code host_not_allowed.
//
// This is what defends against DNS rebinding when nothing in front of the
// gateway pins Host: a hostile page whose own name was made to resolve to
// the gateway sends requests that are same-origin for the browser (Origin
// and Host both name the attacker's host), so the origin check (cors.go)
// passes them; the Host allowlist does not.
func (s *Server) hostCheck(next echo.HandlerFunc) echo.HandlerFunc {
	allowed := make(map[string]bool, len(s.cfg.AllowedHosts))
	for _, h := range s.cfg.AllowedHosts {
		allowed[h] = true
	}
	return func(c echo.Context) error {
		if len(allowed) == 0 || probeRoutes[c.Path()] || allowed[hostOf(c.Request().Host)] {
			return next(c)
		}
		return httperr.New(http.StatusMisdirectedRequest, "host_not_allowed",
			fmt.Sprintf("host %q is not served here (SSEGATE_ALLOWED_HOSTS)", truncate(c.Request().Host)))
	}
}
