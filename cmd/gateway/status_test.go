package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/status"
)

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestStatusMasksSecrets runs the real program with a Redis URL holding a
// password, a JWT secret and publish tokens, and reads /status.json from
// the status listener: the settings are there, no secret is.
func TestStatusMasksSecrets(t *testing.T) {
	t.Parallel()
	const (
		redisPass = "hunter2-redis-password"
		jwtSecret = "jwt-secret-that-must-not-leak-0123456789"
		pubToken  = "publish-token-never-shown"
		token     = "status-token-0123456789abcdef"
	)
	statusAddr := freeAddr(t)
	env := config.Env{
		"SSEGATE_REDIS_URL":      "redis://app:" + redisPass + "@" + freeAddr(t) + "/0", // nothing there: starts degraded
		"SSEGATE_SUBSCRIBE_AUTH": "jwt", "SSEGATE_JWT_SECRET": jwtSecret,
		"SSEGATE_PUBLISH_TOKENS": pubToken,
		"SSEGATE_STATUS_TOKEN":   token, "SSEGATE_STATUS_LISTEN": statusAddr,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", freeAddr(t), "-drain-window", "100ms"}, env, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	body := getUntilOK(t, "http://"+statusAddr+status.JSONPath, token)
	for _, secret := range []string{redisPass, jwtSecret, pubToken, token} {
		if strings.Contains(body, secret) {
			t.Errorf("/status.json shows a secret %q:\n%s", secret, body)
		}
	}
	for _, want := range []string{`"SSEGATE_REDIS_URL","flag":"redis-url","value":"redis://app:xxxxx@`, `"SSEGATE_JWT_SECRET","flag":"jwt-secret","value":"xxxxx","secret":true`, `"kind":"redis"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/status.json lacks %s:\n%s", want, body)
		}
	}
}

// getUntilOK GETs url with the bearer token until it answers 200 (10 s at
// most) and returns the body.
func getUntilOK(t *testing.T, url, token string) string {
	t.Helper()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return b.String()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered 200: %v", url, err)
		}
		time.Sleep(10 * time.Millisecond) // polling a starting server, bounded by the deadline
	}
}

// TestStatusSettingsRefused: a short token and a "separate" listener that
// is the public one fail at start.
func TestStatusSettingsRefused(t *testing.T) {
	t.Parallel()
	for _, env := range []config.Env{
		{"SSEGATE_STATUS_TOKEN": "short"},
		{"SSEGATE_STATUS_LISTEN": "127.0.0.1:8080", "SSEGATE_LISTEN_ADDR": "127.0.0.1:8080"},
	} {
		err := run(context.Background(), nil, env, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "SSEGATE_STATUS_") {
			t.Errorf("env %v: run = %v, want an error naming the status setting", env, err)
		}
	}
}
