// Command gateway serves Server-Sent Events from Redis (or, with no Redis
// configured, from an embedded in-process broker that also serves the
// publish API and a demo page). Run with -h for every setting.
package main

import (
	"context"
	"io"
	"net"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/service"
	"github.com/ssegate/ssegate/internal/settings"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

func main() { service.Main("gateway", run) }

// run loads the settings (internal/settings: the same code
// `ssegatectl check-config gateway` checks) and runs the gateway.
func run(ctx context.Context, args []string, env config.Env, stdout, stderr io.Writer) error {
	st, done, err := settings.LoadGateway(ctx, args, env,
		settings.Build{Name: "gateway", Version: version, Commit: commit}, settings.Output{Stdout: stdout, Stderr: stderr})
	if done {
		return err
	}
	p, err := gateway.NewProgram(st.Program)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", st.Listen)
	if err != nil {
		return err
	}
	if st.PprofAddr != "" {
		stop, err := httpserver.ServeProfiles(st.PprofAddr, st.Program.Logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	return p.Run(ctx, ln)
}
