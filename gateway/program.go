package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/gateway/web"
	"github.com/ssegate/ssegate/internal/apispec"
	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/broker/membroker"
	"github.com/ssegate/ssegate/internal/broker/redisbroker"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/status"
)

// ProgramConfig is everything the gateway process needs.
type ProgramConfig struct {
	Config
	// RedisURL selects the Redis broker; empty runs the embedded in-process
	// broker (development and demos).
	RedisURL       string
	SentinelMaster string
	Sharded        bool
	History        broker.HistoryConfig
	ShutdownGrace  time.Duration
	HTTP           httpserver.Options
	// Embed mounts extra routes in embedded mode, given the in-process
	// broker: the publisher API, so one process serves both sides.
	Embed func(e *echo.Echo, b *membroker.Broker, reg prometheus.Registerer)

	// RedisSecurity is the password file and TLS files for Redis.
	RedisSecurity redisbroker.Security
	// Status enables the status page (status_page.go); off by default.
	Status StatusConfig
}

// RedisOptions are the Redis broker options the gateway runs with (and
// `ssegatectl check-config gateway` checks): it reads history and holds
// the subscription.
func (cfg ProgramConfig) RedisOptions() redisbroker.Options {
	return redisbroker.Options{
		URL: cfg.RedisURL, SentinelMaster: cfg.SentinelMaster, Sharded: cfg.Sharded,
		Security: cfg.RedisSecurity, Access: redisbroker.AccessRead | redisbroker.AccessSubscribe,
		History: cfg.History, Logger: cfg.Logger,
	}
}

// Program is a running gateway process: HTTP server, broker and fan-out.
type Program struct {
	cfg      ProgramConfig
	server   *Server
	echo     *echo.Echo
	close    func()
	broker   Broker
	mem      *membroker.Broker
	status   *statusPage  // nil when the status page is off
	statusLn net.Listener // the status page's own listener, if any
}

// NewProgram builds the gateway from cfg; Run starts it.
func NewProgram(cfg ProgramConfig) (*Program, error) {
	if cfg.HTTP.Registry == nil {
		cfg.HTTP.Registry = prometheus.NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 25 * time.Second
	}
	cfg.HTTP.Logger = cfg.Logger
	cfg.HTTP.StreamRoutes = append(cfg.HTTP.StreamRoutes, "/api/sse/stream")
	if cfg.Status.Enabled() && cfg.Status.Listen == "" {
		cfg.HTTP.StreamRoutes = append(cfg.HTTP.StreamRoutes, status.StreamPath)
	}
	cfg.Registry = cfg.HTTP.Registry
	// The window serves only what history still keeps (window.go).
	if cfg.History.MaxLen > 0 && int64(cfg.WindowEvents) > cfg.History.MaxLen {
		cfg.WindowEvents = int(cfg.History.MaxLen)
	}
	cfg.WindowMaxAge = cfg.History.MaxAge
	p := &Program{cfg: cfg, close: func() {}}
	if cfg.RedisURL == "" {
		p.mem = membroker.New(cfg.History)
		p.broker = p.mem
		cfg.Logger.Warn("no SSEGATE_REDIS_URL: running the embedded in-process broker (single process, history in memory). " +
			"Set SSEGATE_REDIS_URL=redis://host:6379/0 (or -redis-url) to use Redis and run several gateways.")
	} else {
		rb, err := redisbroker.New(cfg.RedisOptions())
		if err != nil {
			return nil, err
		}
		p.broker, p.close = rb, rb.Close
	}
	p.server = New(p.broker, cfg.Config)
	if rb, ok := p.broker.(*redisbroker.Broker); ok {
		rb.OnError(p.server.metrics.countRedisError)
	}
	p.echo = httpserver.NewEcho(cfg.HTTP)
	p.server.Register(p.echo)
	if err := errors.Join(apispec.Register(p.echo), mountWeb(p.echo)); err != nil {
		p.close()
		return nil, err
	}
	if err := p.enableStatus(); err != nil {
		p.close()
		return nil, err
	}
	if p.mem != nil && cfg.Embed != nil {
		cfg.Embed(p.echo, p.mem, cfg.HTTP.Registry)
	}
	return p, nil
}

// mountWeb serves the demo page at / and its files under /static/.
func mountWeb(e *echo.Echo) error {
	files, err := web.FS()
	if err != nil {
		return fmt.Errorf("demo page: %w", err)
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return fmt.Errorf("demo page: %w", err)
	}
	e.GET("/", func(c echo.Context) error {
		return c.HTMLBlob(http.StatusOK, index)
	})
	assets := map[string]bool{}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return fmt.Errorf("demo page: %w", err)
	}
	for _, f := range entries {
		if !f.IsDir() && f.Name() != "index.html" {
			assets[f.Name()] = true
		}
	}
	e.GET("/static/*", func(c echo.Context) error {
		switch name := c.Param("*"); {
		case name == "" || name == "index.html":
			// The page's relative "static/…" URLs only work from its own
			// address: send the browser there ("../" keeps a path prefix).
			return c.Redirect(http.StatusMovedPermanently, "../")
		case !assets[name]:
			return echo.ErrNotFound // a JSON 404, never the page
		default:
			http.ServeFileFS(c.Response(), c.Request(), files, name)
			return nil
		}
	})
	return nil
}

// Server returns the gateway's stream server.
func (p *Program) Server() *Server { return p.server }

// Echo returns the HTTP router (tests mount extra routes).
func (p *Program) Echo() *echo.Echo { return p.echo }

// Embedded returns the in-process broker in embedded mode, else nil.
func (p *Program) Embedded() *membroker.Broker { return p.mem }

// startupWait bounds how long Run waits for the broker subscription before
// serving.
const startupWait = 3 * time.Second

// awaitBroker lets the subscription come up before the first stream
// request, which would otherwise get a 503 — and a browser's EventSource
// never retries after a non-200 answer. With Redis down it gives up after
// startupWait and serves anyway (503s, /healthz, /metrics).
func (p *Program) awaitBroker(ctx context.Context) {
	deadline := time.NewTimer(startupWait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !p.broker.Healthy() {
		select {
		case <-tick.C:
		case <-deadline.C:
			p.cfg.Logger.Warn("serving before the broker subscription is up", "waited", startupWait)
			return
		case <-ctx.Done():
			return
		}
	}
}

// Run serves on ln until ctx ends, then drains streams and shuts down
// within the grace period.
func (p *Program) Run(ctx context.Context, ln net.Listener) error {
	defer p.close()
	// The server runs past ctx's end: the streams drain first (stopRun).
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = p.server.Run(runCtx)
	}()
	statusErr := p.runStatus(runCtx, &wg)
	p.awaitBroker(ctx)
	p.cfg.Logger.Info("gateway listening", "addr", ln.Addr().String(), "redis", p.cfg.RedisURL != "")
	err := httpserver.Serve(ctx, p.echo, ln, p.cfg.HTTP, p.cfg.ShutdownGrace, func(ctx context.Context) {
		drainCtx, cancel := context.WithTimeout(ctx, p.cfg.DrainWindow+time.Second)
		defer cancel()
		p.server.Drain(drainCtx)
		p.server.Close(ctx)
	})
	stopRun()
	wg.Wait()
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return errors.Join(err, runErr, *statusErr)
}
