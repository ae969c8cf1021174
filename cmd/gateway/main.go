// Command gateway serves Server-Sent Events from Redis (or, with no Redis
// configured, from an embedded in-process broker that also serves the
// publish API and a demo page). Run with -h for every setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/gateway"
	"github.com/ssegate/ssegate/internal/auth"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/config"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/logging"
	"github.com/ssegate/ssegate/publisher"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], config.OSLookup, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gateway:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	var (
		cfg                    gateway.ProgramConfig
		listen, logFmt, logLvl string
		trusted, origins       string
		pprofAddr              string
		showVersion, health    bool
		maxLen                 int
		authSet                auth.Settings
	)
	def := gateway.DefaultConfig()
	s := config.New("gateway", lookup)
	s.SetOutput(stderr)
	s.String(&listen, "listen", "SSEGATE_LISTEN_ADDR", ":8080", "HTTP listen address")
	s.String(&cfg.RedisURL, "redis-url", "SSEGATE_REDIS_URL", "", "redis://host:port/db (extra seeds: ?addr=h2:p2&addr=h3:p3); empty = embedded in-process broker")
	s.Bool(&cfg.Sharded, "redis-sharded-pubsub", "SSEGATE_REDIS_SHARDED_PUBSUB", false, "use SSUBSCRIBE (Redis Cluster sharded pub/sub)")
	s.String(&cfg.SentinelMaster, "redis-sentinel-master", "SSEGATE_REDIS_SENTINEL_MASTER", "", "Sentinel master set; makes the URL's addresses Sentinels")
	s.Duration(&cfg.PingInterval, "ping-interval", "SSEGATE_PING_INTERVAL", def.PingInterval, "keepalive comment after this much silence")
	s.Duration(&cfg.SendTimeout, "send-timeout", "SSEGATE_SEND_TIMEOUT", def.SendTimeout, "deadline of one write to a client; slower clients are disconnected")
	s.Int(&cfg.QueueSize, "queue-size", "SSEGATE_QUEUE_SIZE", def.QueueSize, "events queued per client before it is disconnected as too slow")
	s.Duration(&cfg.Retry, "retry", "SSEGATE_RETRY", def.Retry, "reconnection delay suggested to browsers (retry:)")
	s.Duration(&cfg.ShutdownGrace, "shutdown-grace", "SSEGATE_SHUTDOWN_GRACE", 25*time.Second, "longest time from SIGTERM to exit")
	s.Duration(&cfg.DrainWindow, "drain-window", "SSEGATE_DRAIN_WINDOW", def.DrainWindow, "open streams are closed spread over this window on shutdown")
	s.Int(&maxLen, "history-maxlen", "SSEGATE_HISTORY_MAXLEN", 10000, "events kept per topic (embedded mode; with Redis the publisher trims)")
	s.Duration(&cfg.History.MaxAge, "history-max-age", "SSEGATE_HISTORY_MAX_AGE", 0, "drop history older than this (0 = no age limit)")
	s.Int(&cfg.MaxTopics, "max-topics", "SSEGATE_MAX_TOPICS", def.MaxTopics, "topics per connection")
	s.Int(&cfg.MaxConnections, "max-connections", "SSEGATE_MAX_CONNECTIONS", 0, "open streams in total (0 = no limit)")
	s.Int(&cfg.MaxConnsPerIP, "max-connections-per-ip", "SSEGATE_MAX_CONNECTIONS_PER_IP", 0, "open streams per client IP (0 = no limit)")
	s.Float(&cfg.ConnectRatePerIP, "connect-rate-per-ip", "SSEGATE_CONNECT_RATE_PER_IP", 0, "new streams per second per client IP (0 = no limit)")
	s.Int(&cfg.Writers, "writers", "SSEGATE_WRITERS", 0, "goroutines writing HTTP/1.1 streams (0 = one per CPU; -1 = a goroutine per stream through net/http)")
	s.String(&pprofAddr, "pprof-addr", "SSEGATE_PPROF_ADDR", "", "serve Go profiles (net/http/pprof) on this separate address, e.g. 127.0.0.1:6060; empty = off")
	s.String(&trusted, "trusted-proxies", "SSEGATE_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed")
	s.Duration(&cfg.HTTP.ReadHeaderTimeout, "read-header-timeout", "SSEGATE_READ_HEADER_TIMEOUT", 5*time.Second, "time a client has to send its request headers (slowloris guard)")
	s.Int(&cfg.HTTP.MaxHeaderBytes, "max-header-bytes", "SSEGATE_MAX_HEADER_BYTES", 16<<10, "largest request header block; larger gets 431")
	s.String(&origins, "cors-origins", "SSEGATE_CORS_ORIGINS", "", "comma-separated origins whose pages may open streams (scheme://host[:port]; * = any, without cookies)")
	authSet.BindSubscribe(s)
	authSet.BindJWT(s)
	authSet.BindPublish(s)
	s.String(&logLvl, "log-level", "SSEGATE_LOG_LEVEL", "info", "debug, info, warn or error")
	s.String(&logFmt, "log-format", "SSEGATE_LOG_FORMAT", "auto", "json, text or auto (text on a terminal)")
	s.Bool(&showVersion, "version", "SSEGATE_SHOW_VERSION", false, "print the version and exit")
	s.Bool(&health, "healthcheck", "SSEGATE_HEALTHCHECK", false, "GET /healthz on the listen port and exit 0 if healthy (container HEALTHCHECK)")
	if err := s.Parse(args); err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintf(stdout, "gateway %s (commit %s)\n", version, commit)
		return nil
	}
	if health {
		return httpserver.Healthcheck(ctx, listen)
	}
	log, err := logging.New(stderr, logFmt, logLvl)
	if err != nil {
		return err
	}
	cfg.Logger = log
	cfg.History.MaxLen = int64(maxLen)
	if cfg.HTTP.TrustedProxies, err = httpserver.ParseCIDRs(trusted); err != nil {
		return err
	}
	if cfg.CORSOrigins, err = gateway.ParseCORSOrigins(config.List(origins)); err != nil {
		return err
	}
	if cfg.Auth, err = authSet.Subscriber(log); err != nil {
		return err
	}
	// Embedded mode serves the publish API too: with publish credentials
	// configured it checks them; without, it stays open, as a development
	// convenience, with a warning.
	var pubAuth publisher.Authorizer
	if cfg.RedisURL == "" && (authSet.Configured() || authSet.AllowAnonymous) {
		pa, err := authSet.Publisher(log)
		if err != nil {
			return err
		}
		pubAuth = pa
	}
	cfg.Embed = func(e *echo.Echo, b *membroker.Broker, reg prometheus.Registerer) {
		if pubAuth == nil {
			log.Warn("embedded mode: POST /publish and /v1/events are served without authentication " +
				"(set SSEGATE_PUBLISH_TOKENS or a JWT key to require it)")
		}
		publisher.New(b, publisher.Config{Logger: log, Registry: reg, Auth: pubAuth}).Register(e)
	}
	p, err := gateway.NewProgram(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if pprofAddr != "" {
		stop, err := httpserver.ServeProfiles(pprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return p.Run(ctx, ln)
}
