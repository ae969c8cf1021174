// Command publisher is ssegate's publish API: it validates events POSTed by
// the backend and appends each to its topic's Redis history and publishes it
// in one atomic step. Run with -h for every setting.
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

	"github.com/ssegate/ssegate/internal/auth"
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
			fmt.Fprintln(os.Stderr, "publisher:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	var (
		cfg                    publisher.ProgramConfig
		listen, logFmt, logLvl string
		trusted                string
		showVersion, health    bool
		maxLen, maxBody        int
		authSet                auth.Settings
	)
	s := config.New("publisher", lookup)
	s.SetOutput(stderr)
	s.String(&listen, "listen", "SSEGATE_LISTEN_ADDR", ":8081", "HTTP listen address")
	s.String(&cfg.RedisURL, "redis-url", "SSEGATE_REDIS_URL", "redis://127.0.0.1:6379/0", "redis://host:port/db (extra seeds: ?addr=h2:p2&addr=h3:p3)")
	s.Bool(&cfg.Sharded, "redis-sharded-pubsub", "SSEGATE_REDIS_SHARDED_PUBSUB", false, "use SPUBLISH (Redis Cluster sharded pub/sub)")
	s.String(&cfg.SentinelMaster, "redis-sentinel-master", "SSEGATE_REDIS_SENTINEL_MASTER", "", "Sentinel master set; makes the URL's addresses Sentinels")
	s.Int(&maxLen, "history-maxlen", "SSEGATE_HISTORY_MAXLEN", 10000, "events kept per topic (approximate, MAXLEN ~)")
	s.Duration(&cfg.History.MaxAge, "history-max-age", "SSEGATE_HISTORY_MAX_AGE", 0, "drop history older than this (0 = no age limit)")
	s.Duration(&cfg.History.IdempotencyTTL, "idempotency-ttl", "SSEGATE_IDEMPOTENCY_TTL", 24*time.Hour, "how long an Idempotency-Key is remembered")
	s.Int(&maxBody, "max-body-bytes", "SSEGATE_MAX_BODY_BYTES", 64<<10, "largest publish body; larger gets 413")
	s.Duration(&cfg.ShutdownGrace, "shutdown-grace", "SSEGATE_SHUTDOWN_GRACE", 10*time.Second, "longest time from SIGTERM to exit")
	s.String(&trusted, "trusted-proxies", "SSEGATE_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed")
	s.Duration(&cfg.HTTP.ReadHeaderTimeout, "read-header-timeout", "SSEGATE_READ_HEADER_TIMEOUT", 5*time.Second, "time a client has to send its request headers (slowloris guard)")
	s.Int(&cfg.HTTP.MaxHeaderBytes, "max-header-bytes", "SSEGATE_MAX_HEADER_BYTES", 16<<10, "largest request header block; larger gets 431")
	authSet.BindPublish(s)
	authSet.BindJWT(s)
	s.String(&logLvl, "log-level", "SSEGATE_LOG_LEVEL", "info", "debug, info, warn or error")
	s.String(&logFmt, "log-format", "SSEGATE_LOG_FORMAT", "auto", "json, text or auto (text on a terminal)")
	s.Bool(&showVersion, "version", "SSEGATE_SHOW_VERSION", false, "print the version and exit")
	s.Bool(&health, "healthcheck", "SSEGATE_HEALTHCHECK", false, "GET /healthz on the listen port and exit 0 if healthy (container HEALTHCHECK)")
	if err := s.Parse(args); err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintf(stdout, "publisher %s (commit %s)\n", version, commit)
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
	cfg.MaxBodyBytes = int64(maxBody)
	if cfg.HTTP.TrustedProxies, err = httpserver.ParseCIDRs(trusted); err != nil {
		return err
	}
	pa, err := authSet.Publisher(log)
	if err != nil {
		return err
	}
	cfg.Auth = pa
	p, err := publisher.NewProgram(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	return p.Run(ctx, ln)
}
