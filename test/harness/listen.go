package harness

import (
	"net"
	"testing"
	"time"
)

// ListenAgain listens on addr, which a stopped gateway has just released,
// so a restarted one keeps the address its clients reconnect to. Binding
// again can briefly fail while the port is released: it retries for up to
// 5 s.
func ListenAgain(t testing.TB, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // the port is being released; bounded by the deadline
	}
}
