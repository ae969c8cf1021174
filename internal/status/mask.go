package status

import (
	"strings"

	"github.com/ssegate/ssegate/internal/redact"
)

// secretSuffixes end the names of settings whose value is a secret itself
// (SSEGATE_JWT_SECRET, SSEGATE_PUBLISH_TOKENS, SSEGATE_STATUS_TOKEN, …). A
// setting naming a file (…_PASSWORD_FILE, …_KEY_FILE) holds a path, which
// is shown.
var secretSuffixes = []string{"SECRET", "TOKEN", "TOKENS", "PASSWORD", "PASSWORDS", "KEY", "KEYS"}

// IsSecret reports whether the setting named name (its environment
// variable) holds a secret, by the naming rule every ssegate setting follows.
func IsSecret(name string) bool {
	for _, s := range secretSuffixes {
		if strings.HasSuffix(name, "_"+s) {
			return true
		}
	}
	return false
}

// MaskSetting returns a setting as the status page shows it: a secret's
// value replaced by Mask when it is set, and credentials in any URL masked
// (a Redis URL's password) by internal/redact. Every setting of the
// process goes through it: no value reaches a Report otherwise.
func MaskSetting(name, flag, value string) Setting {
	if IsSecret(name) {
		if value != "" {
			value = Mask
		}
		return Setting{Name: name, Flag: flag, Value: value, Secret: true}
	}
	masked := maskURLs(value)
	return Setting{Name: name, Flag: flag, Value: masked, Secret: masked != value}
}

// maskURLs masks the credentials of each comma-separated item of value
// that has user information ("@"): a URL, or a list of them.
func maskURLs(value string) string {
	if !strings.Contains(value, "@") {
		return value
	}
	items := strings.Split(value, ",")
	for i, it := range items {
		items[i] = redact.URL(it)
	}
	return strings.Join(items, ",")
}
