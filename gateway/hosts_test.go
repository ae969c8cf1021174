package gateway

import (
	"slices"
	"testing"
)

func TestParseAllowedHosts(t *testing.T) {
	t.Parallel()
	got, err := ParseAllowedHosts([]string{" Events.Example.COM. ", "", "10.0.0.7", "[::1]", "::1", "localhost"})
	if want := []string{"events.example.com", "10.0.0.7", "::1", "::1", "localhost"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseAllowedHosts = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"https://events.example.com", "events.example.com:443", "events.example.com/x", "*.example.com", "user@host", "."} {
		if _, err := ParseAllowedHosts([]string{bad}); err == nil {
			t.Errorf("ParseAllowedHosts(%q) accepted", bad)
		}
	}
	for host, want := range map[string]string{"A.example:8080": "a.example", "a.example.": "a.example", "[::1]:80": "::1", "10.0.0.7": "10.0.0.7"} {
		if got := hostOf(host); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", host, got, want)
		}
	}
}
