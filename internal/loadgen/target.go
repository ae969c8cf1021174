package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ssegate/ssegate/internal/redact"
)

// ErrNotLoopback is returned for any target whose host is not a loopback
// address. The tool is meant to load a gateway on the same machine; refusing
// other hosts keeps a typo from turning it into a denial-of-service tool.
var ErrNotLoopback = errors.New("target is not a loopback address (only 127.0.0.0/8, ::1 and localhost are allowed)")

// DefaultStreamPath is the gateway's SSE route, used when a gateway URL has
// no path.
const DefaultStreamPath = "/api/sse/stream"

// loopbackAddr checks that host (a URL or host:port host part, without
// brackets) is loopback and returns the IP to dial. "localhost" maps to
// 127.0.0.1 without a DNS lookup.
func loopbackAddr(host string) (netip.Addr, error) {
	if strings.EqualFold(host, "localhost") {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return netip.Addr{}, fmt.Errorf("host %q: %w", host, ErrNotLoopback)
	}
	return ip.Unmap().WithZone(""), nil
}

// CheckLoopbackURL returns an error wrapping ErrNotLoopback unless raw is an
// http URL whose host is a loopback address.
func CheckLoopbackURL(raw string) error {
	_, err := parseHTTPTarget(raw)
	return err
}

// CheckLoopbackHostPort returns an error wrapping ErrNotLoopback unless the
// host of hostport (as given to -redis-addr) is a loopback address.
func CheckLoopbackHostPort(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("address %q: %w", hostport, err)
	}
	_, err = loopbackAddr(host)
	return err
}

// httpTarget is a parsed, checked http URL.
type httpTarget struct {
	u    *url.URL
	addr netip.AddrPort // what to dial
	host string         // Host header value
}

func parseHTTPTarget(raw string) (httpTarget, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return httpTarget{}, redact.Error(fmt.Errorf("url %q: %w", redact.URL(raw), err), raw)
	}
	if u.Scheme != "http" {
		return httpTarget{}, fmt.Errorf("url %q: only http:// is supported", redact.URL(raw))
	}
	ip, err := loopbackAddr(u.Hostname())
	if err != nil {
		return httpTarget{}, redact.Error(fmt.Errorf("url %q: %w", redact.URL(raw), err), raw)
	}
	port := uint16(80)
	if p := u.Port(); p != "" {
		var n uint64
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n == 0 || n > 65535 {
			return httpTarget{}, redact.Error(fmt.Errorf("url %q: bad port %q", redact.URL(raw), p), raw)
		}
		port = uint16(n)
	}
	return httpTarget{u: u, addr: netip.AddrPortFrom(ip, port), host: u.Host}, nil
}

// gateway is one stream target.
type gateway struct {
	httpTarget
	path string // path of the stream route
}

// parseGateways parses the comma-separated gateway URL list.
func parseGateways(list string) ([]gateway, error) {
	var out []gateway
	for _, raw := range strings.Split(list, ",") {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		t, err := parseHTTPTarget(raw)
		if err != nil {
			return nil, err
		}
		path := t.u.EscapedPath()
		if path == "" || path == "/" {
			path = DefaultStreamPath
		}
		out = append(out, gateway{httpTarget: t, path: path})
	}
	if len(out) == 0 {
		return nil, errors.New("no gateway URL given")
	}
	return out, nil
}

// requestBytes appends the HTTP/1.1 request that opens a stream on topics.
// A non-empty lastID is sent as Last-Event-ID, as EventSource does when it
// reconnects; it comes from a parsed `id:` line, so it holds no CR or LF.
func (g *gateway) requestBytes(dst []byte, topics []string, lastID []byte) []byte {
	dst = append(dst, "GET "...)
	dst = append(dst, g.path...)
	sep := byte('?')
	if q := g.u.RawQuery; q != "" {
		dst = append(dst, '?')
		dst = append(dst, q...)
		sep = '&'
	}
	for _, t := range topics {
		dst = append(dst, sep)
		sep = '&'
		dst = append(dst, "topic="...)
		dst = append(dst, url.QueryEscape(t)...)
	}
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, g.host...)
	if len(lastID) > 0 {
		dst = append(dst, "\r\nLast-Event-ID: "...)
		dst = append(dst, lastID...)
	}
	dst = append(dst, "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: ssebench\r\n\r\n"...)
	return dst
}

// sourceAddr returns the local address for connection i: 127.0.0.2 for the
// first perAddr connections, 127.0.0.3 for the next, and so on. It returns an
// invalid Addr (let the kernel choose) when perAddr is 0 or the target is not
// IPv4, because ::1 is the only IPv6 loopback address.
func sourceAddr(target netip.Addr, i, perAddr int) netip.Addr {
	if perAddr <= 0 || !target.Is4() {
		return netip.Addr{}
	}
	base := binary.BigEndian.Uint32([]byte{127, 0, 0, 2})
	v := base + uint32(i/perAddr)
	if v >= binary.BigEndian.Uint32([]byte{127, 255, 255, 255}) {
		return netip.Addr{}
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}
