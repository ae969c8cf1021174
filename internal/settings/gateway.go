package settings

import (
	"context"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/service"
	"github.com/ssegate/ssegate/publisher"
)

// Gateway is the gateway process's configuration.
type Gateway struct {
	Program gateway.ProgramConfig
	Listen  string
	// PprofAddr serves Go profiles on a separate address; empty = off.
	PprofAddr string
}

// LoadGateway reads the gateway's settings from args and env as
// cmd/gateway does. done reports that the process should exit with err now
// (-h, -version, -healthcheck, or a setting error).
func LoadGateway(ctx context.Context, args []string, env config.Env, b Build, out Output) (g Gateway, done bool, err error) {
	var st gatewaySettings
	s, log, done, err := parse(ctx, args, env, b, out, &st.common, st.bind)
	if done {
		return g, true, err
	}
	cfg, err := st.program(log)
	if err != nil {
		return g, true, err
	}
	cfg.Status.Version, cfg.Status.Commit = b.Version, b.Commit
	cfg.Status.Settings = maskedSettings(s)
	return Gateway{Program: cfg, Listen: st.common.Listen, PprofAddr: st.pprofAddr}, false, nil
}

// gatewaySettings are the gateway's flags and environment variables.
type gatewaySettings struct {
	cfg                gateway.ProgramConfig
	common             service.Common
	origins, pprofAddr string
	hosts              string
	stateTopics        string
	authSet            auth.Settings
}

// bind declares every setting on s, in the order -h lists them.
func (st *gatewaySettings) bind(s *config.Set) {
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
	s.Float(&cfg.RetryJitter, "retry-jitter", "SSEGATE_RETRY_JITTER", def.RetryJitter, "each stream's retry: is the retry delay plus a random part of up to this fraction of it, so browsers of a failed replica do not reconnect at once (0 = none)")
	s.Int(&cfg.WindowEvents, "window-events", "SSEGATE_WINDOW_EVENTS", def.WindowEvents, "recent events kept in memory per topic to serve resumes without Redis (at most the history length; 0 = no window)")
	s.Int(&cfg.WindowBytes, "window-bytes", "SSEGATE_WINDOW_BYTES", def.WindowBytes, "bytes of recent events kept in memory per topic (0 = no window)")
	s.Int(&cfg.WindowTotalBytes, "window-total-bytes", "SSEGATE_WINDOW_TOTAL_BYTES", def.WindowTotalBytes, "bytes of recent events kept in memory for all topics together (0 = no window)")
	s.Int(&cfg.ReplayConcurrency, "replay-concurrency", "SSEGATE_REPLAY_CONCURRENCY", def.ReplayConcurrency, "history reads for resuming clients in flight at once; concurrent resumes of one topic and position share a read")
	s.Duration(&cfg.DrainWindow, "drain-window", "SSEGATE_DRAIN_WINDOW", def.DrainWindow, "open streams are closed spread over this window on shutdown")
	s.Int(&cfg.MaxTopics, "max-topics", "SSEGATE_MAX_TOPICS", def.MaxTopics, "topics per connection")
	s.Int(&cfg.MaxConnections, "max-connections", "SSEGATE_MAX_CONNECTIONS", 0, "open streams in total (0 = no limit)")
	s.Int(&cfg.MaxConnsPerIP, "max-connections-per-ip", "SSEGATE_MAX_CONNECTIONS_PER_IP", 0, "open streams per client IP (0 = no limit)")
	s.Float(&cfg.ConnectRatePerIP, "connect-rate-per-ip", "SSEGATE_CONNECT_RATE_PER_IP", 0, "new streams per second per client IP (0 = no limit)")
	s.Int(&cfg.Writers, "writers", "SSEGATE_WRITERS", 0, "goroutines writing HTTP/1.1 streams (0 = one per CPU; -1 = a goroutine per stream through net/http; Linux only: elsewhere always a goroutine per stream)")
	s.String(&st.pprofAddr, "pprof-addr", "SSEGATE_PPROF_ADDR", "", "serve Go profiles (net/http/pprof, without cmdline) on this separate address, e.g. 127.0.0.1:6060; empty = off")
	s.String(&st.origins, "cors-origins", "SSEGATE_CORS_ORIGINS", "", "comma-separated origins whose pages may open streams (scheme://host[:port]; * = any, without cookies)")
	s.String(&st.hosts, "allowed-hosts", "SSEGATE_ALLOWED_HOSTS", "", "comma-separated host names the gateway answers (Host header, no port); others get 421; empty = any (DNS-rebinding defence without a proxy pinning Host)")
	s.String(&st.stateTopics, "state-topics", "SSEGATE_STATE_TOPICS", "", "comma-separated topics whose streams start with their keyed state unless ?state=0 (names; a trailing * is a prefix, e.g. spools:*); empty = only streams asking ?state=1")
	st.authSet.BindSubscribe(s)
	st.authSet.BindJWT(s)
	st.authSet.BindPublish(s)
	s.String(&cfg.Status.Token, "status-token", "SSEGATE_STATUS_TOKEN", "", "enables the status page (/status, /status.json, /status/stream) for requests bearing this token (Authorization: Bearer or ?token=; at least 16 characters); others get 404; empty = off unless -status-listen")
	s.String(&cfg.Status.Listen, "status-listen", "SSEGATE_STATUS_LISTEN", "", "serve the status page only on this separate address, e.g. 127.0.0.1:9091 (with -status-token set, still behind the token); empty = off unless -status-token")
}

// program completes the gateway's configuration from the parsed settings.
func (st *gatewaySettings) program(log *slog.Logger) (gateway.ProgramConfig, error) {
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
	if err = checkStatus(cfg.Status, common.Listen); err != nil {
		return cfg, err
	}
	cfg.Embed, err = st.embed(cfg.RedisURL, log)
	return cfg, err
}

// embed returns what embedded mode (no Redis URL) adds: the publish API.
// With publish credentials configured it checks them; without, it stays
// open, as a development convenience, with a warning.
func (st *gatewaySettings) embed(redisURL string, log *slog.Logger) (func(*echo.Echo, *membroker.Broker, prometheus.Registerer), error) {
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
