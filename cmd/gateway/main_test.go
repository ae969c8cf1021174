package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/config/configtest"
)

// TestMain checks for leaks. rueidis's reconnection to an unreachable Redis
// (TestStatusMasksSecrets) sleeps in a goroutine nobody owns, which ends by
// itself after the client closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"))
}

// noEnv is an empty environment.
var noEnv config.Env

func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-h"}, noEnv, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h = %v, want flag.ErrHelp", err)
	}
	for _, env := range []string{
		"SSEGATE_LISTEN_ADDR", "SSEGATE_REDIS_URL", "SSEGATE_REDIS_SHARDED_PUBSUB", "SSEGATE_REDIS_SENTINEL_MASTER",
		"SSEGATE_PING_INTERVAL", "SSEGATE_SEND_TIMEOUT", "SSEGATE_QUEUE_SIZE", "SSEGATE_RETRY", "SSEGATE_SHUTDOWN_GRACE",
		"SSEGATE_DRAIN_WINDOW", "SSEGATE_HISTORY_MAXLEN", "SSEGATE_HISTORY_MAX_AGE", "SSEGATE_MAX_TOPICS",
		"SSEGATE_MAX_CONNECTIONS", "SSEGATE_MAX_CONNECTIONS_PER_IP", "SSEGATE_CONNECT_RATE_PER_IP", "SSEGATE_WRITERS",
		"SSEGATE_PPROF_ADDR", "SSEGATE_TRUSTED_PROXIES", "SSEGATE_READ_HEADER_TIMEOUT", "SSEGATE_MAX_HEADER_BYTES",
		"SSEGATE_CORS_ORIGINS", "SSEGATE_SUBSCRIBE_AUTH", "SSEGATE_AUTH_COOKIE", "SSEGATE_JWT_SECRET",
		"SSEGATE_JWT_PUBLIC_KEY_FILE", "SSEGATE_PUBLISH_TOKENS", "SSEGATE_LOG_LEVEL", "SSEGATE_LOG_FORMAT",
	} {
		if !strings.Contains(stderr.String(), env) {
			t.Errorf("-h does not document %s", env)
		}
	}
	// And every setting -h lists is in the README's (or SECURITY.md's)
	// tables and in the contract.
	names := configtest.EnvNames(stderr.String())
	configtest.RequireMentioned(t, names, "../../README.md", "../../SECURITY.md")
	configtest.RequireMentioned(t, names, "../../docs/CONTRACT.md")
}

func TestBadSettingFailsAtStart(t *testing.T) {
	t.Parallel()
	env := config.Env{"SSEGATE_PING_INTERVAL": "often"}
	err := run(context.Background(), nil, env, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "SSEGATE_PING_INTERVAL") {
		t.Fatalf("run = %v, want an error naming SSEGATE_PING_INTERVAL", err)
	}
}

// TestEmbeddedRunsAndStops starts the real program in embedded mode and
// stops it the way SIGTERM does: by cancelling its context.
func TestEmbeddedRunsAndStops(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-listen", addr, "-log-format", "json", "-drain-window", "100ms"}, noEnv, &bytes.Buffer{}, &logs)
	}()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("gateway not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling a starting server, bounded by the deadline
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if !strings.Contains(logs.String(), "embedded") {
		t.Fatalf("no hint about the embedded broker in the log:\n%s", logs.String())
	}
}
