// Command publisher is ssegate's publish API: it validates events POSTed by
// the backend and appends each to its topic's Redis history and publishes it
// in one atomic step. Run with -h for every setting.
package main

import (
	"context"
	"io"
	"net"
	"time"

	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/service"
	"github.com/ssegate/ssegate/publisher"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

func main() { service.Main("publisher", run) }

func run(ctx context.Context, args []string, env config.Env, stdout, stderr io.Writer) error {
	var (
		cfg     publisher.ProgramConfig
		common  service.Common
		authSet auth.Settings
	)
	s := config.New("publisher", env)
	s.SetOutput(stderr)
	common.Bind(s, service.Defaults{
		Listen:        ":8081",
		RedisURL:      "redis://127.0.0.1:6379/0",
		RedisURLHelp:  "redis://[user:pass@]host:port/db, rediss:// for TLS (Cluster seeds: ?addr=h2:p2&addr=h3:p3)",
		ShutdownGrace: 10 * time.Second,
		MaxLenHelp:    "events kept per topic (approximate, MAXLEN ~)",
	})
	authSet.BindPublish(s)
	authSet.BindJWT(s)
	if err := s.Parse(args); err != nil {
		return err
	}
	log, done, err := common.Start(ctx, "publisher", version, commit, stdout, stderr)
	if done {
		return err
	}
	cfg.Logger = log
	cfg.RedisURL, cfg.Sharded, cfg.SentinelMaster = common.RedisURL, common.Sharded, common.SentinelMaster
	cfg.RedisSecurity = common.RedisSecurity
	cfg.History, cfg.ShutdownGrace, cfg.HTTP = common.History, common.ShutdownGrace, common.HTTP
	cfg.MaxBodyBytes, cfg.MaxEventBytes, cfg.MaxTopicLen = common.MaxBodyBytes, common.MaxEventBytes, common.MaxTopicLen
	authSet.MaxTopicLen = common.MaxTopicLen // patterns in JWT claims: the same bound as topics
	if cfg.Auth, err = authSet.Publisher(log); err != nil {
		return err
	}
	p, err := publisher.NewProgram(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", common.Listen)
	if err != nil {
		return err
	}
	return p.Run(ctx, ln)
}
