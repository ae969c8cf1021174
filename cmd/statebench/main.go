// Command statebench measures keyed state (issue 14) against a running
// gateway and publisher: the time until many clients opening `?state=1`
// at once all hold a topic's state, the Redis commands the gateway issued
// for it, and the publish path with and without a key. See
// docs/benchmarks.md ("Initial state") and scripts/bench-state.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssegate/ssegate/internal/statebench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the benchmark and prints the report; it returns the
// exit code: 0 every client got the whole state, 1 failure, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, asJSON, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "statebench:", err)
		return 2
	}
	rep, runErr := statebench.Run(ctx, cfg)
	if rep != nil {
		if asJSON {
			err = rep.WriteJSON(stdout)
		} else {
			err = rep.WriteText(stdout)
		}
		if err != nil {
			fmt.Fprintln(stderr, "statebench:", err)
			return 1
		}
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "statebench:", runErr)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (cfg statebench.Config, asJSON bool, err error) {
	cfg = statebench.DefaultConfig()
	fs := flag.NewFlagSet("statebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.GatewayURL, "url", cfg.GatewayURL, "gateway base URL (loopback only)")
	fs.StringVar(&cfg.PublishURL, "publish-url", cfg.PublishURL, "publisher POST /v1/events URL (loopback only)")
	fs.StringVar(&cfg.RedisAddr, "redis-addr", cfg.RedisAddr, "host:port of the gateway's Redis, for INFO commandstats (empty: no command count)")
	fs.StringVar(&cfg.Topic, "topic", cfg.Topic, "topic whose state the clients read")
	fs.StringVar(&cfg.PublishTopic, "publish-topic", cfg.PublishTopic, "topic of the publish-cost phase")
	fs.IntVar(&cfg.Keys, "keys", cfg.Keys, "keys in the state (one keyed event each is published first)")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "clients opening ?state=1 at the same instant")
	fs.IntVar(&cfg.SeedWorkers, "seed-workers", cfg.SeedWorkers, "concurrent publishers of the seed")
	fs.DurationVar(&cfg.StateTimeout, "state-timeout", cfg.StateTimeout, "longest wait for every client's marker")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "closed-loop publishers of the publish-cost phase")
	fs.IntVar(&cfg.Phases, "phases", cfg.Phases, "publish-cost phases, alternating without/with key (even; 0 skips)")
	fs.DurationVar(&cfg.PhaseLength, "phase", cfg.PhaseLength, "length of one publish-cost phase")
	fs.IntVar(&cfg.PayloadBytes, "payload-bytes", cfg.PayloadBytes, "pad each event's data to about this many bytes")
	fs.DurationVar(&cfg.Baseline, "baseline", cfg.Baseline, "idle window before the clients whose Redis commands are counted too (0: none)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, asJSON, nil
}
