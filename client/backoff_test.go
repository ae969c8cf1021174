package client

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"2", 2 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{now.Add(-5 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestBackoff: waits double from the first up to the longest, jittered
// within [d/2, d], and never undercut a server's Retry-After.
func TestBackoff(t *testing.T) {
	t.Parallel()
	c := newConfig([]Option{WithBackoff(100*time.Millisecond, time.Second)})
	for failures, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 9: time.Second} {
		for range 50 {
			if d := backoff(c, failures, 0); d < want/2 || d > want {
				t.Fatalf("backoff after %d failures = %v, want within [%v, %v]", failures, d, want/2, want)
			}
		}
	}
	if d := backoff(c, 1, 3*time.Second); d != 3*time.Second {
		t.Fatalf("backoff with Retry-After 3s = %v, want 3s", d)
	}
}
