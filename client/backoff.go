package client

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is the wait before attempt n (n >= 1 failures so far): doubling
// from first up to longest, with "equal jitter" (half fixed, half random)
// so clients that failed together do not come back together, and never
// less than the server's Retry-After.
func backoff(c config, failures int, retryAfter time.Duration) time.Duration {
	d := c.minBackoff
	for i := 1; i < failures && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	if d > 1 {
		d = d/2 + rand.N(d/2+1)
	}
	return max(d, retryAfter)
}

// sleep waits d or until ctx ends, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
