package redistest

import (
	"os"
	"testing"
)

// Log returns what the server wrote to its log so far (every run, across
// Restart), for tests that assert on something Redis only reports there:
// e.g. "scheduled to be closed ASAP for overcoming of output buffer
// limits", which Redis 7.0 counts nowhere in INFO. ok is false for the
// back ends whose log this package does not hold (REDIS_ADDR, a
// container): the caller must then assert some other way.
func (s *Server) Log(t testing.TB) (text string, ok bool) {
	t.Helper()
	if s.backend != backendBinary {
		return "", false
	}
	raw, err := os.ReadFile(s.proc.logPath)
	if err != nil {
		t.Fatalf("redistest: read the server log: %v", err)
	}
	return string(raw), true
}
