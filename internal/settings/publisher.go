package settings

import (
	"context"
	"time"

	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/service"
	"github.com/ssegate/ssegate/publisher"
)

// Publisher is the publisher process's configuration.
type Publisher struct {
	Program publisher.ProgramConfig
	Listen  string
}

// LoadPublisher reads the publisher's settings from args and env as
// cmd/publisher does. done reports that the process should exit with err
// now (-h, -version, -healthcheck, or a setting error).
func LoadPublisher(ctx context.Context, args []string, env config.Env, b Build, out Output) (p Publisher, done bool, err error) {
	var (
		cfg     publisher.ProgramConfig
		common  service.Common
		authSet auth.Settings
	)
	_, log, done, err := parse(ctx, args, env, b, out, &common, func(s *config.Set) {
		common.Bind(s, service.Defaults{
			Listen:        ":8081",
			RedisURL:      "redis://127.0.0.1:6379/0",
			RedisURLHelp:  "redis://[user:pass@]host:port/db, rediss:// for TLS (Cluster seeds: ?addr=h2:p2&addr=h3:p3)",
			ShutdownGrace: 10 * time.Second,
			MaxLenHelp:    "events kept per topic (approximate, MAXLEN ~)",
		})
		authSet.BindPublish(s)
		authSet.BindJWT(s)
		s.Tolerate(gatewayNames()...)
	})
	if done {
		return p, true, err
	}
	cfg.Logger = log
	cfg.RedisURL, cfg.Sharded, cfg.SentinelMaster = common.RedisURL, common.Sharded, common.SentinelMaster
	cfg.RedisSecurity = common.RedisSecurity
	cfg.History, cfg.ShutdownGrace, cfg.HTTP = common.History, common.ShutdownGrace, common.HTTP
	cfg.MaxBodyBytes, cfg.MaxEventBytes, cfg.MaxTopicLen = common.MaxBodyBytes, common.MaxEventBytes, common.MaxTopicLen
	authSet.MaxTopicLen = common.MaxTopicLen // patterns in JWT claims: the same bound as topics
	if cfg.Auth, err = authSet.Publisher(log); err != nil {
		return p, true, err
	}
	return Publisher{Program: cfg, Listen: common.Listen}, false, nil
}
