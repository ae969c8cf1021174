// Command gateway serves Server-Sent Events from Redis (or, with no Redis
// configured, from an embedded in-process broker that also serves the
// publish API and a demo page). Run with -h for every setting.
package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/service"
	"github.com/ssegate/ssegate/publisher"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

func main() { service.Main("gateway", run) }

func run(ctx context.Context, args []string, env config.Env, stdout, stderr io.Writer) error {
	var st settings
	s := config.New("gateway", env)
	s.SetOutput(stderr)
	st.bind(s)
	if err := s.Parse(args); err != nil {
		return err
	}
	log, done, err := st.common.Start(ctx, "gateway", version, commit, stdout, stderr)
	if done {
		return err
	}
	cfg, err := st.program(log)
	if err != nil {
		return err
	}
	p, err := gateway.NewProgram(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", st.common.Listen)
	if err != nil {
		return err
	}
	if st.pprofAddr != "" {
		stop, err := httpserver.ServeProfiles(st.pprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return p.Run(ctx, ln)
}

// settings are the gateway's flags and environment variables.
type settings struct {
	cfg                gateway.ProgramConfig
	common             service.Common
	origins, pprofAddr string
	hosts              string
	stateTopics        string
	authSet            auth.Settings
}

// bind declares every setting on s, in the order -h lists them.
func (st *settings) bind(s *config.Set) {
	cfg, def := &st.cfg, gateway.DefaultConfig()
	st.common.Bind(s, service.Defaults{
		Listen:        ":8080",
		RedisURLHelp:  "redis://[user:pass@]host:port/db, rediss:// for TLS (Cluster seeds: ?addr=h2:p2&addr=h3:p3); empty = embedded in-process broker",
		ShutdownGrace: 25 * time.Second,
		MaxLenHelp:    "events kept per topic (embedded mode; with Redis the publisher trims)",
	})
	s.Duration(&cfg.PingInterval, "ping-interval", "SSEGATE_PING_INTERVAL", def.PingInterval, "keepalive comment after this much silence")
	s.Duration(&cfg.SendTimeout, "send-timeout", "SSEGATE_SEND_TIMEOUT", def.SendTimeout, "deadline of one write to a client; slower clients are disconnected")
	s.Int(&cfg.QueueSize, "queue-size", "SSEGATE_QUEUE_SIZE", def.QueueSize, "events queued per client before it is disconnected as too slow")
	s.Duration(&cfg.Retry, "retry", "SSEGATE_RETRY", def.Retry, "reconnection delay suggested to browsers (retry:)")
	s.Duration(&cfg.DrainWindow, "drain-window", "SSEGATE_DRAIN_WINDOW", def.DrainWindow, "open streams are closed spread over this window on shutdown")
	s.Int(&cfg.MaxTopics, "max-topics", "SSEGATE_MAX_TOPICS", def.MaxTopics, "topics per connection")
	s.Int(&cfg.MaxConnections, "max-connections", "SSEGATE_MAX_CONNECTIONS", 0, "open streams in total (0 = no limit)")
	s.Int(&cfg.MaxConnsPerIP, "max-connections-per-ip", "SSEGATE_MAX_CONNECTIONS_PER_IP", 0, "open streams per client IP (0 = no limit)")
	s.Float(&cfg.ConnectRatePerIP, "connect-rate-per-ip", "SSEGATE_CONNECT_RATE_PER_IP", 0, "new streams per second per client IP (0 = no limit)")
	s.Int(&cfg.Writers, "writers", "SSEGATE_WRITERS", 0, "goroutines writing HTTP/1.1 streams (0 = one per CPU; -1 = a goroutine per stream through net/http; Linux only: elsewhere always a goroutine per stream)")
	s.String(&st.pprofAddr, "pprof-addr", "SSEGATE_PPROF_ADDR", "", "serve Go profiles (net/http/pprof, without cmdline) on this separate address, e.g. 127.0.0.1:6060; empty = off")
	s.String(&st.origins, "cors-origins", "SSEGATE_CORS_ORIGINS", "", "comma-separated origins whose pages may open streams (scheme://host[:port]; * = any, without cookies)")
	s.String(&st.stateTopics, "state-topics", "SSEGATE_STATE_TOPICS", "", "comma-separated topics whose streams start with their keyed state unless ?state=0 (names; a trailing * is a prefix, e.g. spools:*); empty = only streams asking ?state=1")
	s.String(&st.hosts, "allowed-hosts", "SSEGATE_ALLOWED_HOSTS", "", "comma-separated host names the gateway answers (Host header, no port); others get 421; empty = any (DNS-rebinding defence without a proxy pinning Host)")
	st.authSet.BindSubscribe(s)
	st.authSet.BindJWT(s)
	st.authSet.BindPublish(s)
}

// program completes the gateway's configuration from the parsed settings.
func (st *settings) program(log *slog.Logger) (gateway.ProgramConfig, error) {
	cfg, common, authSet := st.cfg, &st.common, &st.authSet
	cfg.Logger = log
	cfg.RedisURL, cfg.Sharded, cfg.SentinelMaster = common.RedisURL, common.Sharded, common.SentinelMaster
	cfg.RedisSecurity = common.RedisSecurity
	cfg.History, cfg.ShutdownGrace, cfg.HTTP = common.History, common.ShutdownGrace, common.HTTP
	cfg.MaxTopicLen = common.MaxTopicLen
	authSet.MaxTopicLen = common.MaxTopicLen // patterns in JWT claims: the same bound as topics
	var err error
	if cfg.CORSOrigins, err = gateway.ParseCORSOrigins(config.List(st.origins)); err != nil {
		return cfg, err
	}
	if cfg.AllowedHosts, err = gateway.ParseAllowedHosts(config.List(st.hosts)); err != nil {
		return cfg, err
	}
	if cfg.StateTopics, err = gateway.ParseStateTopics(config.List(st.stateTopics), common.MaxTopicLen); err != nil {
		return cfg, err
	}
	if cfg.Auth, err = authSet.Subscriber(log); err != nil {
		return cfg, err
	}
	cfg.Embed, err = st.embed(cfg.RedisURL, log)
	return cfg, err
}

// embed returns what embedded mode (no Redis URL) adds: the publish API.
// With publish credentials configured it checks them; without, it stays
// open, as a development convenience, with a warning.
func (st *settings) embed(redisURL string, log *slog.Logger) (func(*echo.Echo, *membroker.Broker, prometheus.Registerer), error) {
	var pubAuth publisher.Authorizer
	if redisURL == "" && (st.authSet.Configured() || st.authSet.AllowAnonymous) {
		pa, err := st.authSet.Publisher(log)
		if err != nil {
			return nil, err
		}
		pubAuth = pa
	}
	common := &st.common
	return func(e *echo.Echo, b *membroker.Broker, reg prometheus.Registerer) {
		if pubAuth == nil {
			log.Warn("embedded mode: POST /publish and /v1/events are served without authentication " +
				"(set SSEGATE_PUBLISH_TOKENS or a JWT key to require it)")
		}
		publisher.New(b, publisher.Config{
			Logger: log, Registry: reg, Auth: pubAuth, MaxTopicLen: common.MaxTopicLen,
			MaxBodyBytes: common.MaxBodyBytes, MaxEventBytes: common.MaxEventBytes,
		}).Register(e)
	}, nil
}
