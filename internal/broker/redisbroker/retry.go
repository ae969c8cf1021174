package redisbroker

import "time"

// Reconnection pacing.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// retryState paces reconnections to one address (or CLUSTER SLOTS
// requests): after a failure, wait backoff, doubling up to maxBackoff.
type retryState struct {
	at      time.Time
	backoff time.Duration
}

func (r *retryState) fail(now time.Time) {
	r.backoff = min(max(2*r.backoff, minBackoff), maxBackoff)
	r.at = now.Add(r.backoff)
}
