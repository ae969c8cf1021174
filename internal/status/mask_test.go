package status

import (
	"strings"
	"testing"
)

// TestMaskSetting: secrets by name are masked when set; URL credentials
// are masked in any setting; paths to secret files and plain values show.
func TestMaskSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value, want string
		secret            bool
	}{
		{"SSEGATE_JWT_SECRET", "s3cr3t-jwt-key", Mask, true},
		{"SSEGATE_JWT_SECRET", "", "", true},
		{"SSEGATE_PUBLISH_TOKENS", "a,b", Mask, true},
		{"SSEGATE_STATUS_TOKEN", "tok", Mask, true},
		{"SSEGATE_REDIS_URL", "redis://app:hunter2@h:6379/0", "redis://app:" + Mask + "@h:6379/0", true},
		{"SSEGATE_REDIS_URL", "redis://h:6379/0", "redis://h:6379/0", false},
		{"SSEGATE_REDIS_PASSWORD_FILE", "/run/secrets/redis", "/run/secrets/redis", false},
		{"SSEGATE_TLS_KEY_FILE", "/tls/key.pem", "/tls/key.pem", false},
		{"SSEGATE_QUEUE_SIZE", "1024", "1024", false},
	} {
		got := MaskSetting(tc.name, "flag", tc.value)
		if got.Value != tc.want || got.Secret != tc.secret {
			t.Errorf("MaskSetting(%s, %q) = %+v, want %q secret=%v", tc.name, tc.value, got, tc.want, tc.secret)
		}
		if strings.Contains(got.Value, "hunter2") || (tc.secret && tc.value != "" && strings.Contains(got.Value, tc.value)) {
			t.Errorf("MaskSetting(%s) leaks %q", tc.name, got.Value)
		}
	}
}
