package publisher

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: the
// HTTP test servers, their clients' idle connections and the Redis
// clients of the publisher program must all be closed by their owners.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
