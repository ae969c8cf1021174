package gateway

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/ssegate/ssegate/internal/httperr"
)

// limiter enforces the connection limits: streams in total, streams per
// client IP, and new streams per second per client IP. The client IP is
// what the echo IPExtractor reports (internal/httpserver believes
// X-Forwarded-For only from trusted proxies). IPv6 clients are counted per
// /64, the block one subscriber line usually gets, so rotating through the
// addresses of one network does not multiply the allowance.
type limiter struct {
	max, perIP int
	rate       rate.Limit
	burst      int

	mu        sync.Mutex
	total     int
	byIP      map[string]*ipState
	nextSweep int // sweep idle entries when byIP grows past this
}

// minSweep is the map size below which idle entries are not swept.
const minSweep = 4096

type ipState struct {
	conns   int
	limiter *rate.Limiter
	seen    time.Time
}

func newLimiter(maxConns, perIP int, perSecond float64, burst int) *limiter {
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &limiter{max: maxConns, perIP: perIP, rate: rate.Limit(perSecond), burst: burst,
		byIP: make(map[string]*ipState), nextSweep: minSweep}
}

// clientKey is the address the limits count by: the IP itself, or its /64
// for IPv6.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// retryAfter is how long until the rate limiter has a token again.
func (l *limiter) retryAfter() time.Duration {
	if l.rate <= 0 {
		return time.Second
	}
	return time.Duration(math.Ceil(float64(time.Second) / float64(l.rate)))
}

// admit takes a stream slot for the request's client IP or answers why not.
func (s *Server) admit(c echo.Context) (release func(), err error) {
	ip := clientKey(c.RealIP())
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	st := l.byIP[ip]
	if st == nil {
		// Seen now, before the sweep below: an entry with a zero time would
		// be swept at once, and the stream it admits counted on an entry
		// the map no longer holds (the next one from ip would start at 0).
		st = &ipState{seen: now}
		if l.rate > 0 {
			st.limiter = rate.NewLimiter(l.rate, l.burst)
		}
		l.byIP[ip] = st
		if len(l.byIP) > l.nextSweep {
			l.sweepLocked()
			// Sweep again only after the map doubled: O(1) amortised per new
			// address even when every entry is busy.
			l.nextSweep = max(minSweep, 2*len(l.byIP))
		}
	}
	st.seen = now
	switch {
	case l.max > 0 && l.total >= l.max:
		return nil, httperr.Unavailable("too_many_connections", fmt.Sprintf("the gateway holds its maximum of %d streams", l.max), s.cfg.Retry)
	case l.perIP > 0 && st.conns >= l.perIP:
		return nil, httperr.TooMany("too_many_connections_from_ip", fmt.Sprintf("at most %d streams per client address", l.perIP), s.cfg.Retry)
	case st.limiter != nil && !st.limiter.AllowN(now, 1):
		return nil, httperr.TooMany("connect_rate_exceeded", fmt.Sprintf("at most %g new streams per second per client address", float64(l.rate)), l.retryAfter())
	}
	l.total++
	st.conns++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			st.conns--
		})
	}, nil
}

// sweepLocked forgets idle addresses so the map stays bounded.
func (l *limiter) sweepLocked() {
	cutoff := time.Now().Add(-time.Minute)
	for ip, st := range l.byIP {
		if st.conns == 0 && st.seen.Before(cutoff) {
			delete(l.byIP, ip)
		}
	}
}
