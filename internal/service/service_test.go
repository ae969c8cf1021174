package service

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ssegate/ssegate/internal/config"
)

func parse(t *testing.T, env map[string]string, args ...string) *Common {
	t.Helper()
	var c Common
	s := config.New("svc", env)
	s.SetOutput(&bytes.Buffer{})
	c.Bind(s, Defaults{Listen: ":9999", RedisURL: "redis://x:1/0", ShutdownGrace: 3 * time.Second})
	if err := s.Parse(args); err != nil {
		t.Fatalf("parse: %v", err)
	}
	return &c
}

func TestStart(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closedPort, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantDone bool
		wantErr  string
		wantOut  string
	}{
		{name: "version", args: []string{"-version"}, wantDone: true, wantOut: "svc v1 (commit c1)"},
		{name: "healthcheck against nothing fails", args: []string{"-healthcheck", "-listen", "127.0.0.1:" + closedPort}, wantDone: true, wantErr: "healthcheck"},
		{name: "bad trusted proxy", env: map[string]string{"SSEGATE_TRUSTED_PROXIES": "10.0.0.0/99"}, wantDone: true, wantErr: "trusted proxy"},
		{name: "bad log level", args: []string{"-log-level", "loud"}, wantDone: true, wantErr: "log level"},
		{name: "topic length 0", args: []string{"-max-topic-len", "0"}, wantDone: true, wantErr: "max-topic-len"},
		{name: "TLS certificate without its key", args: []string{"-tls-cert-file", "cert.pem"}, wantDone: true, wantErr: "go together"},
		{name: "TLS key without its certificate", env: map[string]string{"SSEGATE_TLS_KEY_FILE": "key.pem"}, wantDone: true, wantErr: "go together"},
		{name: "body limit 0", args: []string{"-max-body-bytes", "0"}, wantDone: true, wantErr: "max-body-bytes"},
		{name: "negative event limit", env: map[string]string{"SSEGATE_MAX_EVENT_BYTES": "-1"}, wantDone: true, wantErr: "max-event-bytes"},
		{name: "topic length over the limit", env: map[string]string{"SSEGATE_MAX_TOPIC_LEN": "1025"}, wantDone: true, wantErr: "max-topic-len"},
		{name: "body read timeout 0", args: []string{"-body-read-timeout", "0s"}, wantDone: true, wantErr: "body-read-timeout"},
		{name: "runs", env: map[string]string{
			"SSEGATE_HISTORY_MAXLEN": "42", "SSEGATE_TRUSTED_PROXIES": "127.0.0.1", "SSEGATE_IDEMPOTENCY_TTL": "1h",
			"SSEGATE_MAX_TOPIC_LEN": "64", "SSEGATE_MAX_BODY_BYTES": "1000", "SSEGATE_MAX_EVENT_BYTES": "900",
			"SSEGATE_BODY_READ_TIMEOUT": "3s",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := parse(t, tt.env, tt.args...)
			var out bytes.Buffer
			log, done, err := c.Start(context.Background(), "svc", "v1", "c1", &out, &bytes.Buffer{})
			if done != tt.wantDone {
				t.Fatalf("done = %v, want %v (err %v)", done, tt.wantDone, err)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("stdout %q, want %q", out.String(), tt.wantOut)
			}
			if !done {
				if log == nil || c.History.MaxLen != 42 || c.History.IdempotencyTTL != time.Hour || len(c.HTTP.TrustedProxies) != 1 ||
					c.HTTP.MaxHeaderBytes != 16<<10 || c.Listen != ":9999" || c.ShutdownGrace != 3*time.Second ||
					c.MaxTopicLen != 64 || c.MaxBodyBytes != 1000 || c.MaxEventBytes != 900 || c.HTTP.BodyReadTimeout != 3*time.Second {
					t.Fatalf("settings not applied: %+v", c)
				}
			}
		})
	}
}
