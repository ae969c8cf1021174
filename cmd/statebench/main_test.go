package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFlags: flags reach the config, -h is not an error, bad input is a
// usage error (2) that names the problem, before anything is contacted.
func TestFlags(t *testing.T) {
	var stderr bytes.Buffer
	cfg, asJSON, err := parseFlags([]string{"-clients", "7", "-keys", "9", "-phase", "2s", "-redis-addr", "127.0.0.1:6379", "-json"}, &stderr)
	if err != nil || cfg.Clients != 7 || cfg.Keys != 9 || cfg.PhaseLength != 2*time.Second || cfg.RedisAddr != "127.0.0.1:6379" || !asJSON {
		t.Fatalf("parse: %+v json=%v err=%v", cfg, asJSON, err)
	}
	ctx := context.Background()
	if code := run(ctx, []string{"-h"}, &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "-clients") {
		t.Fatalf("-h: exit %d, usage %q", code, stderr.String())
	}
	for _, args := range [][]string{{"-url", "http://192.0.2.1:8080"}, {"-phases", "3"}, {"-nope"}, {"extra"}} {
		var out bytes.Buffer
		if code := run(ctx, args, &bytes.Buffer{}, &out); code != 2 || !strings.Contains(out.String(), "statebench:") && args[0] != "-nope" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, out.String())
		}
	}
}
