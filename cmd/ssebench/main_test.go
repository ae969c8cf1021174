package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/loadgen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(t *testing.T, c loadgen.Config, asJSON bool)
	}{
		{name: "defaults", check: func(t *testing.T, c loadgen.Config, asJSON bool) {
			if c.Conns != 1000 || c.Mode != loadgen.ModeStream || asJSON || len(c.PIDs) != 0 {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "lists and durations", args: []string{
			"-url", "http://127.0.0.1:8080, http://127.0.0.1:8090", "-pids", "12,34",
			"-metrics-url", "http://127.0.0.1:8080/metrics", "-duration", "3s", "-mode", "idle", "-json",
		}, check: func(t *testing.T, c loadgen.Config, asJSON bool) {
			if !slices.Equal(c.GatewayURLs, []string{"http://127.0.0.1:8080", "http://127.0.0.1:8090"}) ||
				!slices.Equal(c.PIDs, []int{12, 34}) || len(c.MetricsURLs) != 1 ||
				c.Duration != 3*time.Second || c.Mode != loadgen.ModeIdle || !asJSON {
				t.Fatalf("%+v json=%v", c, asJSON)
			}
		}},
		{name: "storm", args: []string{
			"-mode", "storm", "-storm-url", "http://127.0.0.1:8090", "-kill-pid", "42", "-stats-redis", "127.0.0.1:6379",
			"-reconnect-delay", "250ms", "-reconnect-jitter", "0.5", "-storm-timeout", "20s", "-storm-after", "1s",
		}, check: func(t *testing.T, c loadgen.Config, _ bool) {
			s := c.Storm
			if c.Mode != loadgen.ModeStorm || !slices.Equal(s.URLs, []string{"http://127.0.0.1:8090"}) || s.KillPID != 42 ||
				s.RedisAddr != "127.0.0.1:6379" || s.ReconnectDelay != 250*time.Millisecond || s.ReconnectJitter != 0.5 ||
				s.Timeout != 20*time.Second || s.After != time.Second {
				t.Fatalf("%+v", s)
			}
		}},
		{name: "storm delay from retry by default", args: []string{"-mode", "storm"}, check: func(t *testing.T, c loadgen.Config, _ bool) {
			if c.Storm.ReconnectDelay != loadgen.ReconnectFromRetry {
				t.Fatalf("%v", c.Storm.ReconnectDelay)
			}
		}},
		{name: "bad reconnect delay", args: []string{"-reconnect-delay", "soon"}, wantErr: true},
		{name: "bad pid", args: []string{"-pids", "12,x"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			c, asJSON, _, err := parseFlags(tc.args, &stderr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.check != nil {
				tc.check(t, c, asJSON)
			}
		})
	}
}

func TestRunRefusesRemoteTarget(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-url", "http://203.0.113.7:8080", "-conns", "1"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "not a loopback address") {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
}
