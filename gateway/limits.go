package gateway

import (
	"fmt"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/ssegate/ssegate/internal/httperr"
)

// limiter enforces the connection limits: streams in total, streams per
// client IP, and new streams per second per client IP.
type limiter struct {
	max, perIP int
	rate       rate.Limit
	burst      int

	mu    sync.Mutex
	total int
	byIP  map[string]*ipState
}

type ipState struct {
	conns   int
	limiter *rate.Limiter
	seen    time.Time
}

func newLimiter(maxConns, perIP int, perSecond float64, burst int) *limiter {
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &limiter{max: maxConns, perIP: perIP, rate: rate.Limit(perSecond), burst: burst, byIP: make(map[string]*ipState)}
}

// admit takes a stream slot for the request's client IP or answers why not.
func (s *Server) admit(c echo.Context) (release func(), err error) {
	ip := c.RealIP()
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.byIP[ip]
	if st == nil {
		st = &ipState{}
		if l.rate > 0 {
			st.limiter = rate.NewLimiter(l.rate, l.burst)
		}
		l.byIP[ip] = st
		if len(l.byIP) > 4096 {
			l.sweepLocked()
		}
	}
	now := time.Now()
	st.seen = now
	switch {
	case l.max > 0 && l.total >= l.max:
		s.metrics.Rejected.WithLabelValues("limit_global").Inc()
		return nil, httperr.Unavailable("too_many_connections", fmt.Sprintf("the gateway holds its maximum of %d streams", l.max), s.cfg.Retry)
	case l.perIP > 0 && st.conns >= l.perIP:
		s.metrics.Rejected.WithLabelValues("limit_ip").Inc()
		return nil, httperr.TooMany("too_many_connections_from_ip", fmt.Sprintf("at most %d streams per client address", l.perIP), s.cfg.Retry)
	case st.limiter != nil && !st.limiter.AllowN(now, 1):
		s.metrics.Rejected.WithLabelValues("rate").Inc()
		return nil, httperr.TooMany("connect_rate_exceeded", fmt.Sprintf("at most %g new streams per second per client address", float64(l.rate)), time.Second)
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
