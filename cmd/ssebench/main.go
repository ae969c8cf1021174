// Command ssebench is a load tool for the ssegate SSE gateway: it holds
// many SSE connections, publishes timestamped events at a fixed rate and
// reports delivery, latency and the gateways' cost. See docs/ssebench.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/ssegate/ssegate/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the benchmark and prints the report; it returns the
// process exit code (0 ok, 1 failure, 2 usage).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, asJSON, quiet, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "ssebench:", err)
		return 2
	}
	if !quiet {
		cfg.Progress = stderr
		if f, ok := stderr.(*os.File); ok {
			cfg.ProgressTTY = term.IsTerminal(int(f.Fd()))
		}
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "ssebench:", err)
		return 1
	}
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ssebench:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (cfg loadgen.Config, asJSON, quiet bool, err error) {
	cfg = loadgen.DefaultConfig()
	fs := flag.NewFlagSet("ssebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := fs.String("url", strings.Join(cfg.GatewayURLs, ","), "gateway URL(s), comma-separated; connections are spread round-robin (loopback only)")
	mode := fs.String("mode", string(cfg.Mode), "stream (publish and measure), idle (hold connections, measure memory) or storm (kill gateway A, reconnect to B)")
	pids := fs.String("pids", "", "comma-separated gateway PIDs whose RSS and CPU are sampled from /proc")
	metrics := fs.String("metrics-url", "", "comma-separated gateway /metrics URLs to scrape")
	bindConfig(fs, &cfg)
	stormURLs := bindStorm(fs, &cfg.Storm)
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress line on stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, false, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Mode = loadgen.Mode(*mode)
	cfg.GatewayURLs = splitList(*urls)
	cfg.MetricsURLs = splitList(*metrics)
	cfg.Storm.URLs = splitList(*stormURLs)
	for _, s := range splitList(*pids) {
		pid, err := strconv.Atoi(s)
		if err != nil {
			return cfg, false, false, fmt.Errorf("-pids %q: %w", s, err)
		}
		cfg.PIDs = append(cfg.PIDs, pid)
	}
	return cfg, asJSON, quiet, nil
}

// bindConfig declares the flags that set cfg's fields directly; cfg holds
// their defaults.
func bindConfig(fs *flag.FlagSet, cfg *loadgen.Config) {
	fs.IntVar(&cfg.Conns, "conns", cfg.Conns, "number of SSE connections")
	fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "hard cap on -conns")
	fs.IntVar(&cfg.Topics, "topics", cfg.Topics, "number of topics (prefix0 … prefixK-1)")
	fs.IntVar(&cfg.TopicsPerConn, "topics-per-conn", cfg.TopicsPerConn, "topics each connection subscribes")
	fs.StringVar(&cfg.TopicPrefix, "topic-prefix", cfg.TopicPrefix, "topic name prefix")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "events published per second (all topics together)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "steady publish phase, or idle hold time (max 1h)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "publish this long before measuring latency")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "longest wait for in-flight events after publishing")
	fs.StringVar(&cfg.PublishURL, "publish-url", cfg.PublishURL, "publisher endpoint (POST JSON events)")
	fs.StringVar(&cfg.PublishToken, "publish-token", os.Getenv("SSEBENCH_PUBLISH_TOKEN"), "bearer token for the publisher (default $SSEBENCH_PUBLISH_TOKEN)")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "concurrent publishing clients")
	fs.StringVar(&cfg.RedisAddr, "redis-addr", cfg.RedisAddr, "host:port: publish with raw Redis PUBLISH instead of the HTTP publisher")
	fs.IntVar(&cfg.PayloadBytes, "payload-bytes", cfg.PayloadBytes, "pad each event's data to about this many bytes")
	fs.StringVar(&cfg.EventType, "event-type", cfg.EventType, "event type (SSE event: name) of published events")
	fs.IntVar(&cfg.ConnectConcurrency, "connect-concurrency", cfg.ConnectConcurrency, "connections being opened at once")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", cfg.ConnectTimeout, "timeout for one connection (dial + response headers)")
	fs.IntVar(&cfg.ConnsPerAddr, "conns-per-addr", cfg.ConnsPerAddr, "connections per source address 127.0.0.2, 127.0.0.3, … (0: kernel's choice)")
	fs.IntVar(&cfg.Readers, "readers", cfg.Readers, "epoll reader goroutines")
	fs.DurationVar(&cfg.ProgressInterval, "progress-interval", cfg.ProgressInterval, "progress line interval")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
