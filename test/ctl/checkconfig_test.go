package ctl

import (
	"net"
	"strings"
	"testing"

	"github.com/ssegate/ssegate/internal/redistest"
)

// TestCheckConfig: check-config loads a service's settings from the
// environment as the service does and reaches Redis with them: 0 when the
// service would start ready, 2 for a setting the service refuses (an
// unknown SSEGATE_ name, a bad value, a malformed URL), 1 when Redis is
// unreachable, rejects the password or lacks a permission; each failure is
// one line saying what to fix.
func TestCheckConfig(t *testing.T) {
	srv := redistest.Start(t)
	locked := redistest.Start(t)
	locked.RequirePass(t, "right-password-0123")
	locked.Do(t, "ACL", "SETUSER", "weak", "on", ">weak-password-0123", "+ping", "~*")
	base := "redis://" + srv.Addr() + "/0"
	tests := []struct {
		name, service string
		env           []string
		code          int
		want          string
	}{
		{"publisher ok", "publisher", []string{"SSEGATE_REDIS_URL=" + base, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true", "SSEGATE_TOKEN=x"}, 0, "ok: publisher settings are valid"},
		{"gateway ok", "gateway", []string{"SSEGATE_REDIS_URL=" + base, "SSEGATE_QUEUE_SIZE=64"}, 0, "ok: gateway settings are valid"},
		{"gateway embedded", "gateway", nil, 0, "embedded mode"},
		{"unknown name", "gateway", []string{"SSEGATE_REDIS_URL=" + base, "SSEGATE_REDIS_ULR=x"}, 2, "SSEGATE_REDIS_ULR"},
		{"bad value", "gateway", []string{"SSEGATE_QUEUE_SIZE=many"}, 2, "SSEGATE_QUEUE_SIZE"},
		{"publisher without credentials", "publisher", []string{"SSEGATE_REDIS_URL=" + base}, 2, "SSEGATE_ALLOW_ANONYMOUS_PUBLISH"},
		{"malformed URL", "publisher", []string{"SSEGATE_REDIS_URL=redis://h:port/0", "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true"}, 2, "not a valid Redis URL"},
		{"unreachable", "gateway", []string{"SSEGATE_REDIS_URL=redis://" + closedAddr(t) + "/0"}, 1, "cannot be reached"},
		{"wrongpass", "publisher", []string{"SSEGATE_REDIS_URL=redis://:wrong-password@" + locked.Addr() + "/0", "SSEGATE_ALLOW_ANONYMOUS_PUBLISH=true"}, 1, "rejected the password"},
		{"noperm", "gateway", []string{"SSEGATE_REDIS_URL=redis://weak:weak-password-0123@" + locked.Addr() + "/0"}, 1, "lacks a permission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ctl(t, append([]string{"SSEGATE_LOG_FORMAT=json"}, tt.env...), "", "check-config", tt.service)
			text := r.stdout + r.stderr
			if r.code != tt.code || !strings.Contains(text, tt.want) {
				t.Fatalf("exit %d, want %d; output does not say %q:\n%s", r.code, tt.code, tt.want, text)
			}
			if strings.Contains(text, "wrong-password") || strings.Contains(text, "weak-password") {
				t.Fatalf("the output shows a password:\n%s", text)
			}
			if tt.code != 0 && strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
				t.Logf("more than one line on stderr (logs included):\n%s", r.stderr)
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
