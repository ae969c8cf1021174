package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ssegate/ssegate/internal/config/configtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	var stderr, stdout bytes.Buffer
	var none map[string]string // an empty environment
	if err := run(context.Background(), []string{"-h"}, none, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h = %v", err)
	}
	for _, env := range []string{"SSEGATE_LISTEN_ADDR", "SSEGATE_REDIS_URL", "SSEGATE_MAX_BODY_BYTES", "SSEGATE_IDEMPOTENCY_TTL",
		"SSEGATE_PUBLISH_TOKENS", "SSEGATE_ALLOW_ANONYMOUS_PUBLISH", "SSEGATE_JWT_SECRET", "SSEGATE_HISTORY_MAXLEN"} {
		if !strings.Contains(stderr.String(), env) {
			t.Errorf("-h does not document %s", env)
		}
	}
	names := configtest.EnvNames(stderr.String())
	configtest.RequireMentioned(t, names, "../../README.md", "../../SECURITY.md")
	configtest.RequireMentioned(t, names, "../../docs/CONTRACT.md")
	if err := run(context.Background(), []string{"-version"}, none, &stdout, &stderr); err != nil || !strings.HasPrefix(stdout.String(), "publisher ") {
		t.Fatalf("-version: %v %q", err, stdout.String())
	}
}

// TestRefusesToStartWithoutAuth: anonymous publishing must be asked for.
func TestRefusesToStartWithoutAuth(t *testing.T) {
	t.Parallel()
	var none map[string]string // an empty environment
	err := run(context.Background(), []string{"-listen", "127.0.0.1:0"}, none, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "ANONYMOUS") {
		t.Fatalf("run without credentials = %v, want a refusal naming SSEGATE_ALLOW_ANONYMOUS_PUBLISH", err)
	}
}
