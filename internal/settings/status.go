package settings

import (
	"errors"
	"fmt"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/status"
)

// minStatusToken is the shortest status token accepted: the token guards
// the process's settings and topic names on the public port.
const minStatusToken = 16

// errStatusSetting marks a status page setting that cannot be used.
var errStatusSetting = errors.New("status page")

// checkStatus refuses status page settings that would expose the page by
// accident: a guessable token, or a "separate" listener that is the public
// one.
func checkStatus(c gateway.StatusConfig, publicListen string) error {
	if c.Token != "" && len(c.Token) < minStatusToken {
		return fmt.Errorf("%w: SSEGATE_STATUS_TOKEN is %d characters, want at least %d (e.g. openssl rand -hex 24)",
			errStatusSetting, len(c.Token), minStatusToken)
	}
	if c.Listen != "" && c.Listen == publicListen {
		return fmt.Errorf("%w: SSEGATE_STATUS_LISTEN=%q is the public listener (SSEGATE_LISTEN_ADDR); give it its own address, e.g. 127.0.0.1:9091",
			errStatusSetting, c.Listen)
	}
	return nil
}

// maskedSettings lists every setting in force, secrets masked, for the
// status page.
func maskedSettings(s *config.Set) []status.Setting {
	vals := s.Values()
	out := make([]status.Setting, 0, len(vals))
	for _, v := range vals {
		out = append(out, status.MaskSetting(v.Env, v.Flag, v.Value))
	}
	return out
}
