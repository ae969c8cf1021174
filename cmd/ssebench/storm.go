package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/ssegate/ssegate/internal/loadgen"
)

// bindStorm declares the flags of -mode storm (docs/ssebench.md, "Reconnect
// storm"); it returns the -storm-url list, split by the caller.
func bindStorm(fs *flag.FlagSet, s *loadgen.StormConfig) *string {
	urls := fs.String("storm-url", "", "storm: gateway URL(s) the clients reconnect to after -kill-pid dies (gateway B)")
	fs.IntVar(&s.KillPID, "kill-pid", s.KillPID, "storm: process id of gateway A, killed with SIGKILL after -duration")
	fs.StringVar(&s.RedisAddr, "stats-redis", s.RedisAddr, "storm: host:port of the Redis whose INFO commandstats is read before the kill and after the drain")
	fs.Func("reconnect-delay", `storm: wait before a dropped client reconnects: "retry" (the gateway's retry: hint, as EventSource) or a duration (default retry)`,
		func(v string) error {
			if strings.TrimSpace(v) == "retry" {
				s.ReconnectDelay = loadgen.ReconnectFromRetry
				return nil
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("want \"retry\" or a duration: %w", err)
			}
			s.ReconnectDelay = d
			return nil
		})
	fs.Float64Var(&s.ReconnectJitter, "reconnect-jitter", s.ReconnectJitter, "storm: random fraction of each reconnect delay, drawn from [d·(1−j), d] (0: EventSource, 0.5: the JS client's own reopenings)")
	fs.DurationVar(&s.Timeout, "storm-timeout", s.Timeout, "storm: longest wait, from the kill, for every client to resume")
	fs.IntVar(&s.Concurrency, "reconnect-concurrency", s.Concurrency, "storm: reconnection attempts in flight at once (0: one per client, as independent browsers)")
	fs.DurationVar(&s.After, "storm-after", s.After, "storm: keep publishing this long after every client has resumed")
	return urls
}
