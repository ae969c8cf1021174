package publisher

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/apispec"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/httpserver"
)

// ProgramConfig is everything the publisher process needs.
type ProgramConfig struct {
	Config
	RedisURL       string
	SentinelMaster string
	Sharded        bool
	History        broker.HistoryConfig
	ShutdownGrace  time.Duration
	HTTP           httpserver.Options

	// RedisSecurity is the password file and TLS files for Redis.
	RedisSecurity redisbroker.Security
}

// RedisOptions are the Redis broker options the publisher runs with (and
// `ssegatectl check-config publisher` checks): it appends and publishes.
func (cfg ProgramConfig) RedisOptions() redisbroker.Options {
	return redisbroker.Options{
		URL: cfg.RedisURL, SentinelMaster: cfg.SentinelMaster, Sharded: cfg.Sharded,
		Security: cfg.RedisSecurity, Access: redisbroker.AccessPublish,
		History: cfg.History, Logger: cfg.Logger,
	}
}

// Program is a running publisher process.
type Program struct {
	cfg    ProgramConfig
	server *Server
	echo   *echo.Echo
	broker *redisbroker.Broker
}

// NewProgram builds the publisher on Redis.
func NewProgram(cfg ProgramConfig) (*Program, error) {
	if cfg.HTTP.Registry == nil {
		cfg.HTTP.Registry = prometheus.NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	cfg.HTTP.Logger = cfg.Logger
	cfg.Registry = cfg.HTTP.Registry
	rb, err := redisbroker.New(cfg.RedisOptions())
	if err != nil {
		return nil, err
	}
	p := &Program{cfg: cfg, broker: rb}
	p.server = New(rb, cfg.Config)
	rb.OnError(p.server.metrics.countRedisError)
	p.echo = httpserver.NewEcho(cfg.HTTP)
	p.server.Register(p.echo)
	if err := apispec.Register(p.echo); err != nil {
		rb.Close()
		return nil, err
	}
	p.echo.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	p.echo.GET("/readyz", p.readyz)
	return p, nil
}

// readyz answers 200 while Redis answers within 2 s, else 503.
//
// contextcheck takes the request's context inside an echo handler for a
// fresh one (it knows only net/http's handler shape); it is the request's.
//
//nolint:contextcheck // a false positive, see above
func (p *Program) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := p.server.Ready(ctx); err != nil {
		return readyError(err, p.cfg.RetryAfter+time.Second)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// Echo returns the HTTP router.
func (p *Program) Echo() *echo.Echo { return p.echo }

// Run serves on ln until ctx ends, then shuts down within the grace period.
func (p *Program) Run(ctx context.Context, ln net.Listener) error {
	defer p.broker.Close()
	p.cfg.Logger.Info("publisher listening", "addr", ln.Addr().String())
	return httpserver.Serve(ctx, p.echo, ln, p.cfg.HTTP, p.cfg.ShutdownGrace, nil)
}
