package gateway

import (
	"fmt"

	"github.com/ssegate/ssegate/internal/httperr"
)

// acquireError is the gateway's answer to a stream whose topics could not
// be subscribed or positioned: 503 redis_unavailable with Retry-After for a
// retry-later condition (the subscription is down, Redis is slow, full,
// failing over), 500 redis_misconfigured for a permission or configuration
// fault (httperr.Broker), and a logged 500 internal for an unexpected
// reply. The Redis broker counts (ssegate_gateway_redis_errors_total{class})
// and logs each class once per interval, so this logs at debug level only.
func (s *Server) acquireError(topics []string, err error) error {
	s.log.Debug("subscribe failed", "topics", topics, "err", err)
	if he := httperr.Broker(err, s.cfg.Retry, "retry later"); he != nil {
		return he
	}
	return fmt.Errorf("subscribe %q: %w", topics, err)
}
