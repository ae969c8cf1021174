// Package ctl is ssegatectl, the operator's command line for ssegate: it
// tails a topic, publishes events, shows the status of gateways, mints
// tokens and checks a service's settings against its Redis.
//
// It is its own binary, not subcommands of the services: the gateway's and
// publisher's flags are about running a service (their -h, -healthcheck
// and exit codes are a contract already), while an operator runs
// ssegatectl from a laptop against remote gateways, without the services'
// settings. Each subcommand lives in its own file; cmd/ssegatectl only
// calls Run.
//
// Exit codes, for scripts: 0 success (and -h), 1 the command failed (a
// refusal, a service or Redis that cannot be reached), 2 a usage error (an
// unknown command or flag, a missing argument) or, for check-config, a
// setting that cannot work.
package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// IO is what a command reads and writes: the process's streams and
// environment in production, buffers and a map in tests.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Env            map[string]string
	Version        string
}

// getenv returns the variable name of the environment, or "".
func (o IO) getenv(name string) string { return o.Env[name] }

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, o IO) error
}

// commands lists the subcommands in the order usage shows them.
func commands() []command {
	return []command{
		{"tail", "print a topic's events as they arrive", runTail},
		{"publish", "publish events from flags or standard input", runPublish},
		{"status", "show the status of one or more gateways as a table", runStatus},
		{"token", "mint a subscriber or publisher JWT from the configured key", runToken},
		{"check-config", "check a service's settings and reach Redis with them", runCheckConfig},
		{"version", "print ssegatectl's version", runVersion},
	}
}

// Run runs the subcommand args[0] and returns the process's exit code.
func Run(ctx context.Context, args []string, o IO) int {
	if len(args) == 0 {
		usage(o.Stderr)
		return ExitUsage
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(o.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(o.Stderr, c.name, c.run(ctx, args[1:], o))
		}
	}
	fmt.Fprintf(o.Stderr, "ssegatectl: unknown command %q\n\n", args[0])
	usage(o.Stderr)
	return ExitUsage
}

// usage lists the subcommands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ssegatectl <command> [flags] [arguments]   (ssegatectl <command> -h for its flags)")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
}

// errUsage marks a usage error (exit 2); errSetting a setting that cannot
// work (check-config, exit 2).
var (
	errUsage   = errors.New("usage")
	errSetting = errors.New("setting")
)

// usageErrorf is a usage error with a message.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// exitCode prints err (unless the flag package printed it already) and
// maps it to an exit code.
func exitCode(stderr io.Writer, name string, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, errFlagParse):
		return ExitUsage
	}
	msg := err.Error()
	for _, prefix := range []string{errUsage.Error() + ": ", errSetting.Error() + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	fmt.Fprintf(stderr, "ssegatectl %s: %s\n", name, msg)
	if errors.Is(err, errUsage) || errors.Is(err, errSetting) {
		return ExitUsage
	}
	return ExitFailure
}

// errFlagParse is a flag the flag package refused; it has printed why and
// the usage already.
var errFlagParse = errors.New("bad flag")

// newFlags returns a flag set for a subcommand whose -h prints synopsis
// (the command line and what it does) and the flags.
func newFlags(name, synopsis string, o IO) *flag.FlagSet {
	fs := flag.NewFlagSet("ssegatectl "+name, flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ssegatectl %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; -h prints the usage to standard output (it was asked
// for) and returns flag.ErrHelp, a bad flag returns errFlagParse.
func parse(fs *flag.FlagSet, args []string, o IO) error {
	var help strings.Builder
	fs.SetOutput(&help)
	err := fs.Parse(args)
	fs.SetOutput(o.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(o.Stdout, help.String())
		return flag.ErrHelp
	case err != nil:
		fmt.Fprint(o.Stderr, help.String())
		return errFlagParse
	}
	return nil
}

// runVersion prints the version.
func runVersion(_ context.Context, args []string, o IO) error {
	fs := newFlags("version", "version", o)
	if err := parse(fs, args, o); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "ssegatectl %s\n", o.Version)
	return nil
}

// OSEnv returns the process environment as a map.
func OSEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
