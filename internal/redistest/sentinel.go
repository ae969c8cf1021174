package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// StartSentinel runs redis-sentinel (the binary bin) on port, monitoring
// primary as master set "mymaster" (quorum 1, down after 1 s, failover
// timeout 5 s), waits until it answers PING and returns its address;
// cleanup kills it. primary need not be up yet: a test of starting while
// Redis is down starts the Sentinel first.
func StartSentinel(t testing.TB, bin string, port int, primary string) string {
	t.Helper()
	host, pport, err := net.SplitHostPort(primary)
	if err != nil {
		t.Fatalf("sentinel: primary %q: %v", primary, err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites its config: it must be writable
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster %s %s 1\n"+
		"sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n", port, dir, host, pport)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatalf("sentinel config: %v", err)
	}
	cmd := exec.Command(bin, conf)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-sentinel: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = poll(ctx, 20*time.Millisecond, func(ctx context.Context) error {
		_, err := Exec(ctx, addr, "PING")
		return err
	})
	if err != nil {
		t.Fatalf("sentinel %s does not answer: %v", addr, err)
	}
	return addr
}
