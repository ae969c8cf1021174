package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/redact"
	"github.com/ssegate/ssegate/internal/settings"
)

// runCheckConfig loads a service's settings from the environment (and any
// service flags after its name) with the service's own code
// (internal/settings), then runs the service's start-up Redis checks once
// (redisbroker.Check: connect, authenticate, probe the ACL permissions it
// needs). Exit 0: the service would start and be ready; 2: a setting is
// wrong; 1: Redis cannot be reached or refuses the service. Every failure
// is one line saying what to fix.
func runCheckConfig(ctx context.Context, args []string, o IO) error {
	fs := newFlags("check-config", "check-config [-timeout D] gateway|publisher [service flags]\n\n"+
		"Reads the service's settings from the environment (SSEGATE_*) exactly as the service does,\n"+
		"then reaches Redis with them. Exit 0 when fine, 2 on a setting error, 1 when Redis cannot\n"+
		"be reached or used.", o)
	timeout := fs.Duration("timeout", 10*time.Second, "how long the Redis check may take")
	if err := parse(fs, args, o); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("which service? ssegatectl check-config gateway|publisher")
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	b := settings.Build{Name: name, Version: o.Version}
	out := settings.Output{Stdout: o.Stdout, Stderr: o.Stderr}
	var opts redisbroker.Options
	switch name {
	case "gateway":
		g, done, err := settings.LoadGateway(ctx, rest, o.Env, b, out)
		if done {
			return settingError(name, err)
		}
		if g.Program.RedisURL == "" {
			fmt.Fprintln(o.Stdout, "ok: gateway settings are valid; no SSEGATE_REDIS_URL: embedded mode (in-process broker), no Redis to reach")
			return nil
		}
		opts = g.Program.RedisOptions()
	case "publisher":
		p, done, err := settings.LoadPublisher(ctx, rest, o.Env, b, out)
		if done {
			return settingError(name, err)
		}
		opts = p.Program.RedisOptions()
	default:
		return usageErrorf("unknown service %q: want gateway or publisher", name)
	}
	if _, err := redisbroker.ClientOption(opts.URL, opts.SentinelMaster); err != nil {
		return settingError(name, err) // a malformed URL: a setting, not Redis
	}
	return checkRedis(ctx, name, opts, *timeout, o)
}

// settingError is a setting the service would refuse at start, on one
// line (several problems are joined with "; ").
func settingError(service string, err error) error {
	if err == nil {
		return nil // -version
	}
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %s settings: %s", errSetting, service, strings.ReplaceAll(err.Error(), "\n", "; "))
}

// checkRedis runs the start-up checks against Redis.
func checkRedis(ctx context.Context, service string, opts redisbroker.Options, timeout time.Duration, o IO) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	where := redact.URL(opts.URL)
	err := redisbroker.Check(ctx, opts)
	var ce *redisbroker.ConfigError
	switch {
	case err == nil:
		fmt.Fprintf(o.Stdout, "ok: %s settings are valid; redis at %s answers and grants what the %s needs\n", service, where, service)
		return nil
	case errors.As(err, &ce):
		return fmt.Errorf("redis at %s: %s", where, ce.Fix)
	}
	return fmt.Errorf("redis at %s cannot be reached (%w): check SSEGATE_REDIS_URL, that Redis runs and that this host may connect to it", where, err)
}
