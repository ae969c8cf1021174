// Command ssegatectl is the operator's command line for ssegate: tail,
// publish, status, token and check-config (internal/ctl). Run it without
// arguments for the list, and `ssegatectl <command> -h` for each command's
// flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssegate/ssegate/internal/ctl"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.Run(ctx, os.Args[1:], ctl.IO{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Env: ctl.OSEnv(), Version: version + " (commit " + commit + ")",
	})
	stop()
	os.Exit(code)
}
