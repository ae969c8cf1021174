package gateway

import (
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
)

// TestStreamRetryJitter: each stream's retry: lies in [Retry, Retry×(1+jitter)]
// and varies; without jitter it is Retry exactly.
func TestStreamRetryJitter(t *testing.T) {
	t.Parallel()
	s := New(membroker.New(broker.HistoryConfig{}), Config{Retry: time.Second, RetryJitter: 0.5})
	seen := map[time.Duration]bool{}
	for range 200 {
		d := s.streamRetry()
		if d < time.Second || d > 1500*time.Millisecond {
			t.Fatalf("retry %v outside [1s, 1.5s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Fatalf("200 streams got only %d distinct retry values", len(seen))
	}
	if d := New(membroker.New(broker.HistoryConfig{}), Config{Retry: time.Second}).streamRetry(); d != time.Second {
		t.Fatalf("without jitter retry %v, want 1s", d)
	}
}
