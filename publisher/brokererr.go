package publisher

import (
	"errors"
	"fmt"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/httperr"
)

// brokerError is the publisher's answer to a publish the broker failed:
// 503 redis_unavailable with Retry-After for a retry-later condition, 500
// redis_misconfigured for a permission or configuration fault
// (httperr.Broker), and a logged 500 internal for anything else. The broker
// counts (ssegate_publisher_redis_errors_total{class}) and logs each class
// once per interval, so nothing here logs per request.
func brokerError(topic string, err error, retry time.Duration) error {
	if he := httperr.Broker(err, retry, "the event was not confirmed: retry later with the same Idempotency-Key"); he != nil {
		return he
	}
	return fmt.Errorf("publish to %q: %w", topic, err)
}

// readyError is /readyz's answer when the broker check failed: always 503
// (a probe reads only the status), coded redis_misconfigured while Redis
// refuses the publisher's commands, else redis_unavailable.
func readyError(err error, retry time.Duration) error {
	if errors.Is(err, broker.ErrMisconfigured) {
		return httperr.Unavailable("redis_misconfigured", "Redis refuses the publisher's commands ("+string(broker.ClassOf(err))+"): fix the Redis ACL or configuration", retry)
	}
	return httperr.Unavailable("redis_unavailable", "Redis does not answer", retry)
}
