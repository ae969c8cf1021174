// Command publisher is ssegate's publish API: it validates events POSTed by
// the backend and appends each to its topic's Redis history and publishes it
// in one atomic step. Run with -h for every setting.
package main

import (
	"context"
	"io"
	"net"

	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/service"
	"github.com/ssegate/ssegate/internal/settings"
	"github.com/ssegate/ssegate/publisher"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

func main() { service.Main("publisher", run) }

// run loads the settings (internal/settings: the same code
// `ssegatectl check-config publisher` checks) and runs the publisher.
func run(ctx context.Context, args []string, env config.Env, stdout, stderr io.Writer) error {
	st, done, err := settings.LoadPublisher(ctx, args, env,
		settings.Build{Name: "publisher", Version: version, Commit: commit}, settings.Output{Stdout: stdout, Stderr: stderr})
	if done {
		return err
	}
	p, err := publisher.NewProgram(st.Program)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", st.Listen)
	if err != nil {
		return err
	}
	return p.Run(ctx, ln)
}
