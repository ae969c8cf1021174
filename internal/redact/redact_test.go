package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ raw, want string }{
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://app:secret@h:6379/0", "redis://app:xxxxx@h:6379/0"},
		{"redis://:secret@h:6379/0?addr=h2:1", "redis://:xxxxx@h:6379/0?addr=h2:1"},
		{"https://token@h/x", "https://xxxxx@h/x"},
		{"redis://user:secret@host:notaport/0", "redis://xxxxx@host:notaport/0"},
		{"redis://user:sec%zzret@h/0", "redis://xxxxx@h/0"},
		{"redis://u:12/secret@host/0", "redis://xxxxx@host/0"}, // parses, with the "@" in the path
		{"user:secret@host:6379", "xxxxx@host:6379"},
		{"", ""},
	} {
		if got := URL(tt.raw); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// TestError: net/url's and rueidis's messages about a malformed URL keep
// saying what is wrong, without the password or any quoted piece of it.
func TestError(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"redis://user:secret@host:notaport/0",
		"redis://user:sec%zzret@h/0",
		"redis://user:se/cret@host/0",
		"rediss://user:secret@ho st/0",
		"redis://:hunter2hunter2@h:1/0",
	} {
		_, perr := url.Parse(raw)
		if perr == nil {
			perr = fmt.Errorf("redis: invalid database number: %q (from %s, password hunter2hunter2)", "x", raw)
		}
		err := fmt.Errorf("parse redis url: %w", perr)
		got := Error(err, raw)
		msg := got.Error()
		for _, secret := range []string{"secret", "sec", "se\"", "cret", "%zz", "hunter2hunter2"} {
			if strings.Contains(msg, secret) {
				t.Errorf("Error for %q = %q: contains %q", raw, msg, secret)
			}
		}
		if !errors.Is(got, perr) {
			t.Errorf("Error for %q lost the chain", raw)
		}
		if !strings.Contains(msg, "parse redis url") {
			t.Errorf("Error for %q = %q: lost the message", raw, msg)
		}
	}
	plain := errors.New("dial tcp 127.0.0.1:1: connection refused")
	// Identity, not errors.Is: the very same value must come back.
	if got := Error(plain, "redis://127.0.0.1:1/0"); got != plain { //nolint:errorlint // see above
		t.Errorf("an error about a URL without credentials changed: %v", got)
	}
}
