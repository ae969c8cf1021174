package config

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestUnknownVariableRefused: a misspelt SSEGATE_ variable is an error
// naming the setting closest to it; tolerated names and other programs'
// variables are not.
func TestUnknownVariableRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     Env
		wantErr []string
	}{
		{"misspelt", Env{"SSEGATE_REDIS_ULR": "redis://h:6379/0"}, []string{"SSEGATE_REDIS_ULR", "closest known: SSEGATE_REDIS_URL"}},
		{"two, both reported", Env{"SSEGATE_LISTEN": ":1", "SSEGATE_RETRY_": "1s"}, []string{"SSEGATE_LISTEN ", "SSEGATE_LISTEN_ADDR", "SSEGATE_RETRY_ ", "closest known: SSEGATE_RETRY"}},
		{"known and tolerated", Env{"SSEGATE_REDIS_URL": "redis://h/0", "SSEGATE_OTHER": "x", "HOME": "/root", "ssegate_redis_ulr": "lower case is not ours"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New("x", tt.env)
			s.SetOutput(&bytes.Buffer{})
			var url, listen string
			var retry bool
			s.String(&url, "redis-url", "SSEGATE_REDIS_URL", "", "redis")
			s.String(&listen, "listen", "SSEGATE_LISTEN_ADDR", ":8080", "listen")
			s.Bool(&retry, "retry", "SSEGATE_RETRY", false, "retry")
			s.Tolerate("SSEGATE_OTHER")
			err := s.Parse(nil)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnknownSetting) {
				t.Fatalf("Parse = %v, want ErrUnknownSetting", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	known := []string{"SSEGATE_REDIS_URL", "SSEGATE_RETRY", "SSEGATE_REDIS_SHARDED_PUBSUB", "SSEGATE_LISTEN_ADDR", "SSEGATE_RETRY"}
	if got, want := Closest("SSEGATE_REDIS_ULR", known, 2), []string{"SSEGATE_REDIS_URL", "SSEGATE_RETRY"}; !slices.Equal(got, want) {
		t.Fatalf("Closest = %q, want %q", got, want)
	}
	if got := Closest("X", nil, 3); len(got) != 0 {
		t.Fatalf("Closest of nothing = %q", got)
	}
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"SSEGATE_REDIS_ULR", "SSEGATE_REDIS_URL", 2}} {
		if got := editDistance(tt.a, tt.b); got != tt.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}
