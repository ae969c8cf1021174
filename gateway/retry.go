package gateway

import (
	"math/rand/v2"
	"time"
)

// streamRetry is the retry: a new stream suggests (WHATWG HTML §9.2.6: the
// reconnection time). EventSource waits exactly that long after a stream
// drops and adds no jitter of its own, so when a replica dies every browser
// on it would come back in the same instant. Each stream gets Config.Retry
// plus a random part of up to RetryJitter×Retry, which spreads them.
func (s *Server) streamRetry() time.Duration {
	spread := time.Duration(float64(s.cfg.Retry) * s.cfg.RetryJitter)
	if spread <= 0 {
		return s.cfg.Retry
	}
	return s.cfg.Retry + rand.N(spread+1) //nolint:gosec // spreading reconnects, not a secret
}
