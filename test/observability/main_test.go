package observability

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// repoRoot is the module root, relative to this package.
const repoRoot = "../.."

// TestMain fails the package when a test leaves a goroutine behind: the
// programs, their Redis clients, the SSE readers and the Prometheus waiter
// all have owners that stop them.
func TestMain(m *testing.M) {
	code := m.Run()
	// harness.Post and harness.WaitHTTP use http.DefaultClient, whose idle
	// keep-alive connections (two goroutines each) are not leaks: close
	// them before goleak looks.
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
