package settings

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/config"
)

var build = Build{Name: "gateway", Version: "v-test", Commit: "abc123"}

func loadGateway(t *testing.T, args []string, env config.Env) (Gateway, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	g, done, err := LoadGateway(context.Background(), args, env, build, Output{Stdout: &stdout, Stderr: &stderr})
	if done && err == nil {
		t.Fatalf("LoadGateway: done without an error (stdout %q)", stdout.String())
	}
	return g, err
}

// TestGatewaySettingsReachTheProgram: the wave 2 settings (window, retry
// jitter, state topics, status page) go from the environment into the
// gateway's configuration, a flag wins over the environment, and the status
// page's copy of the settings masks the secrets.
func TestGatewaySettingsReachTheProgram(t *testing.T) {
	const token = "status-token-0123456789"
	env := config.Env{
		"SSEGATE_REDIS_URL":          "redis://ops:redis-secret@127.0.0.1:6379/0",
		"SSEGATE_RETRY":              "1s",
		"SSEGATE_RETRY_JITTER":       "0.25",
		"SSEGATE_WINDOW_EVENTS":      "200",
		"SSEGATE_WINDOW_BYTES":       "65536",
		"SSEGATE_REPLAY_CONCURRENCY": "3",
		"SSEGATE_STATE_TOPICS":       "spools:*, board",
		"SSEGATE_STATUS_TOKEN":       token,
		"SSEGATE_STATUS_LISTEN":      "127.0.0.1:9091",
	}
	g, err := loadGateway(t, []string{"-retry", "3s"}, env)
	if err != nil {
		t.Fatalf("LoadGateway: %v", err)
	}
	c := g.Program
	if c.Retry != 3*time.Second || c.RetryJitter != 0.25 {
		t.Errorf("retry %v jitter %v, want 3s (the flag over SSEGATE_RETRY=1s) and 0.25", c.Retry, c.RetryJitter)
	}
	if c.WindowEvents != 200 || c.WindowBytes != 65536 || c.ReplayConcurrency != 3 {
		t.Errorf("window %d events %d bytes, replay concurrency %d; want 200, 65536, 3", c.WindowEvents, c.WindowBytes, c.ReplayConcurrency)
	}
	if !slices.Equal(c.StateTopics, []string{"spools:*", "board"}) {
		t.Errorf("state topics %q", c.StateTopics)
	}
	if c.Status.Token != token || c.Status.Listen != "127.0.0.1:9091" || c.Status.Version != "v-test" || c.Status.Commit != "abc123" {
		t.Errorf("status config %+v", c.Status)
	}
	if c.RedisURL != env["SSEGATE_REDIS_URL"] {
		t.Errorf("redis URL %q", c.RedisURL)
	}
	shown := map[string]string{}
	for _, s := range c.Status.Settings {
		shown[s.Name] = s.Value
		if strings.Contains(s.Value, token) || strings.Contains(s.Value, "redis-secret") {
			t.Errorf("the status page would show a secret: %s=%q", s.Name, s.Value)
		}
	}
	if shown["SSEGATE_RETRY"] != "3s" || shown["SSEGATE_WINDOW_EVENTS"] != "200" {
		t.Errorf("settings in force as the status page lists them: SSEGATE_RETRY=%q SSEGATE_WINDOW_EVENTS=%q", shown["SSEGATE_RETRY"], shown["SSEGATE_WINDOW_EVENTS"])
	}
	if _, ok := shown["SSEGATE_STATUS_TOKEN"]; !ok {
		t.Error("SSEGATE_STATUS_TOKEN is not listed (masked) among the settings")
	}
}

// TestGatewaySettingsRefused: each bad value stops the start with an error
// that names what is wrong.
func TestGatewaySettingsRefused(t *testing.T) {
	cases := []struct {
		name string
		env  config.Env
		want string
	}{
		{"short status token", config.Env{"SSEGATE_STATUS_TOKEN": "short"}, "at least 16"},
		{"status on the public listener", config.Env{"SSEGATE_LISTEN_ADDR": "127.0.0.1:8080", "SSEGATE_STATUS_LISTEN": "127.0.0.1:8080"}, "public listener"},
		{"bad state topic", config.Env{"SSEGATE_STATE_TOPICS": "spools:*:x*"}, "state"},
		{"misspelt name", config.Env{"SSEGATE_WINDOW_EVENT": "5"}, "SSEGATE_WINDOW_EVENTS"},
		{"not a number", config.Env{"SSEGATE_WINDOW_EVENTS": "many"}, "SSEGATE_WINDOW_EVENTS"},
		{"no keys in state", config.Env{"SSEGATE_STATE_MAX_KEYS": "0"}, "state-max-keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadGateway(t, nil, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if strings.Contains(tc.name, "status") && !errors.Is(err, errStatusSetting) {
				t.Errorf("err = %v, want errStatusSetting", err)
			}
		})
	}
}

// TestPublisherToleratesGatewaySettings: one ConfigMap serves both services,
// so the publisher starts with every gateway setting in its environment but
// still refuses a misspelt name.
func TestPublisherToleratesGatewaySettings(t *testing.T) {
	// Every gateway setting at the gateway's default (valid for the names
	// both services read), as a shared ConfigMap would hold them.
	gw := config.New("gateway", config.Env{})
	var st gatewaySettings
	st.bind(gw)
	env := config.Env{}
	for _, v := range gw.Values() {
		env[v.Env] = v.Value
	}
	env["SSEGATE_STATUS_TOKEN"] = "status-token-0123456789"
	env["SSEGATE_STATE_TOPICS"] = "spools:*"
	delete(env, "SSEGATE_REDIS_URL")   // the gateway's default is empty (embedded); the publisher needs Redis
	delete(env, "SSEGATE_LISTEN_ADDR") // each service has its own port
	env["SSEGATE_ALLOW_ANONYMOUS_PUBLISH"] = "true"
	var out bytes.Buffer
	p, done, err := LoadPublisher(context.Background(), nil, env, Build{Name: "publisher"}, Output{Stdout: &out, Stderr: &out})
	if done || err != nil {
		t.Fatalf("LoadPublisher with the gateway's settings: done %v, err %v", done, err)
	}
	if p.Listen != ":8081" {
		t.Errorf("listen %q, want the default :8081", p.Listen)
	}
	env["SSEGATE_STATUS_TOKN"] = "x"
	if _, _, err := LoadPublisher(context.Background(), nil, env, Build{Name: "publisher"}, Output{Stdout: &out, Stderr: &out}); err == nil || !strings.Contains(err.Error(), "SSEGATE_STATUS_TOKN") {
		t.Fatalf("a misspelt name: err = %v, want one naming SSEGATE_STATUS_TOKN", err)
	}
}
