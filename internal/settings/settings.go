// Package settings reads the gateway's and the publisher's settings (flags
// and SSEGATE_* environment variables, config.Set) and turns them into the
// programs' configurations. The service binaries (cmd/gateway,
// cmd/publisher) and `ssegatectl check-config` both load their settings
// here, so the check validates exactly what the service would: the same
// names, defaults, unknown-name errors and checks, not a copy of them.
package settings

import (
	"context"
	"io"
	"log/slog"

	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/service"
)

// Build identifies the binary for -version.
type Build struct {
	Name, Version, Commit string
}

// Output is where -h, -version and the logs go.
type Output struct {
	Stdout, Stderr io.Writer
}

// parse parses args and env into a config.Set bound by bind, then acts on
// the common settings (service.Common.Start). done reports that the
// process should exit with err now (-h, -version, -healthcheck or a bad
// setting). The Set is returned for the values in force (Set.Values).
func parse(ctx context.Context, args []string, env config.Env, b Build, out Output, common *service.Common, bind func(*config.Set)) (s *config.Set, log *slog.Logger, done bool, err error) {
	s = config.New(b.Name, env)
	s.SetOutput(out.Stderr)
	bind(s)
	if err := s.Parse(args); err != nil {
		return s, nil, true, err
	}
	log, done, err = common.Start(ctx, b.Name, b.Version, b.Commit, out.Stdout, out.Stderr)
	return s, log, done, err
}

// gatewayNames are the environment names of every gateway setting, read
// from the gateway's own declarations. The publisher tolerates them (one
// ConfigMap serves both services), so a setting added to the gateway needs
// no second list; a misspelt name is still refused.
func gatewayNames() []string {
	s := config.New("gateway", config.Env{})
	var st gatewaySettings
	st.bind(s)
	vals := s.Values()
	names := make([]string, 0, len(vals))
	for _, v := range vals {
		names = append(names, v.Env)
	}
	return names
}
