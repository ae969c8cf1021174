package loadgen

import (
	"testing"
	"time"
)

// TestDueBy pins the pacing schedule: every event of a phase is due a whole
// interval before the phase ends, so an idle run reports nothing as "not
// sent (publishers behind)". The old schedule made the last event due at
// the very end, where the run stops the publishers and drops it.
func TestDueBy(t *testing.T) {
	t.Parallel()
	const d = 10 * time.Second
	for _, rate := range []float64{1, 10, 200, 1000, 2.5} {
		total := int64(rate * d.Seconds())
		interval := time.Duration(float64(time.Second) / rate)
		if got := dueBy(rate, 0, d); got != 1 {
			t.Errorf("rate %g: %d due at the start, want 1", rate, got)
		}
		if got := dueBy(rate, d-interval/2, d); got != total {
			t.Errorf("rate %g: %d due half an interval before the end, want all %d", rate, got, total)
		}
		if got := dueBy(rate, d, d); got != total {
			t.Errorf("rate %g: %d due at the end, want %d", rate, got, total)
		}
		var prev int64
		for e := time.Duration(0); e <= d; e += d / 1000 {
			got := dueBy(rate, e, d)
			if got < prev || got > total {
				t.Fatalf("rate %g: %d due at %v after %d, total %d", rate, got, e, prev, total)
			}
			prev = got
		}
	}
}
