// Package httpserver runs the HTTP side shared by ssegate's services: an
// echo instance with JSON errors, panic recovery, per-route request metrics
// and client-IP extraction that trusts X-Forwarded-For only from configured
// proxies; a /metrics endpoint on a private registry; and a server whose
// timeouts suit long-lived streams (ReadHeaderTimeout against slowloris, no
// WriteTimeout, which would cut streams; a per-request body deadline instead
// of ReadTimeout, see bodyDeadline) with a bounded graceful shutdown.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/requestid"
)

// Options configures a server.
type Options struct {
	Logger *slog.Logger
	// Registry receives the request metrics and the Go and process
	// collectors, and is served on GET /metrics.
	Registry *prometheus.Registry
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies    []*net.IPNet
	ReadHeaderTimeout time.Duration // default 5 s
	IdleTimeout       time.Duration // default 120 s
	MaxHeaderBytes    int           // default 16 KiB
	// BodyReadTimeout bounds the time a request body may take to arrive
	// (default DefaultBodyReadTimeout); see bodyDeadline.
	BodyReadTimeout time.Duration
	// StreamRoutes are not timed by the request metrics (they last for
	// hours) and get no middleware that buffers.
	StreamRoutes []string
	// TLS, when set, serves HTTPS (HTTP/2 and HTTP/1.1) instead of plain
	// HTTP/1.1.
	TLS *CertFiles
}

// ParseCIDRs parses a comma-separated list of CIDRs or single addresses.
func ParseCIDRs(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("trusted proxy %q: not an IP address or CIDR", s)
			}
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			s += "/" + strconv.Itoa(bits)
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// NewEcho returns an echo instance with ssegate's error handling, metrics
// and client-IP rules, and GET /metrics.
func NewEcho(opts Options) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e.HTTPErrorHandler = httperr.Handler(log)
	trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range opts.TrustedProxies {
		trust = append(trust, echo.TrustIPRange(n))
	}
	if len(opts.TrustedProxies) > 0 {
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Request ids first, so every log line of a request can carry one.
	e.Use(requestid.Middleware(opts.StreamRoutes...))
	// Metrics next, so a panic that Recover turns into a 500 is counted.
	e.Use(requestMetrics(reg, opts.StreamRoutes))
	e.Use(headerLimit(opts.maxHeaderBytes()))
	// Outside Recover, so that an answer made from a panic is also sent
	// without waiting for an unread body.
	e.Use(bodyDeadline(orDefault(opts.BodyReadTimeout, DefaultBodyReadTimeout), routeSet(opts.StreamRoutes)))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.Error("panic in handler", "req", requestid.Of(c), "path", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	}))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:          reg,
		EnableOpenMetrics: true,
	})))
	return e
}

func requestMetrics(reg prometheus.Registerer, streams []string) echo.MiddlewareFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ssegate_http_requests_total", Help: "HTTP requests to non-streaming routes, by route and status code.",
	}, []string{"route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "ssegate_http_request_duration_seconds", Help: "Duration of HTTP requests to non-streaming routes, by route.",
		Buckets:                         []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}, []string{"route"})
	reg.MustRegister(requests, duration)
	skip := routeSet(streams)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			route := c.Path()
			if skip[route] {
				return err
			}
			if route == "" || c.Response().Status == http.StatusNotFound && err != nil {
				route = "unmatched" // bounded label: never the raw URL
			}
			code := c.Response().Status
			if err != nil {
				answer, _ := httperr.Answer(err)
				code = answer.Status
			}
			requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// Serve serves e on ln until ctx ends, then shuts down: it stops accepting
// connections, runs beforeShutdown (the gateway drains its streams there),
// then gives in-flight requests the rest of grace, after which request
// contexts are cancelled and the remaining connections closed. It returns
// once the server has stopped.
func Serve(ctx context.Context, e *echo.Echo, ln net.Listener, opts Options, grace time.Duration, beforeShutdown func(context.Context)) error {
	// Requests outlive ctx: its end starts the shutdown, and in-flight
	// requests get the grace period; cancelRequests ends them.
	baseCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, 5*time.Second),
		IdleTimeout:       orDefault(opts.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    opts.maxHeaderBytes(), // headerLimit enforces it exactly
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(orLogger(opts.Logger).Handler(), slog.LevelDebug),
	}
	if opts.TLS != nil {
		cfg, err := tlsConfig(*opts.TLS, orLogger(opts.Logger))
		if err != nil {
			_ = ln.Close()
			return err
		}
		srv.TLSConfig = cfg
	}
	// echo's Shutdown would wait for open streams forever: end them.
	srv.RegisterOnShutdown(cancelRequests)
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace) // ctx has ended
	defer cancel()
	// Stop accepting first: a new connection is refused rather than answered
	// 503 while draining, because a browser's EventSource retries a refused
	// connection but gives up for good after any non-200 answer. Behind a
	// load balancer the refusal sends the client to another replica.
	_ = ln.Close()
	serveErr := <-errc // Serve returns at once when its listener closes
	if beforeShutdown != nil {
		beforeShutdown(shutdownCtx)
	}
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && !errors.Is(serveErr, net.ErrClosed) {
		return errors.Join(err, serveErr)
	}
	return err
}

// routeSet is routes as a set.
func routeSet(routes []string) map[string]bool {
	set := make(map[string]bool, len(routes))
	for _, r := range routes {
		set[r] = true
	}
	return set
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// ErrUnhealthy is what every failed Healthcheck wraps: the binaries exit 1
// on it, the status a container HEALTHCHECK reads as unhealthy (Docker
// reserves 2).
var ErrUnhealthy = errors.New("unhealthy")

// Healthcheck GETs /healthz on the port of listen over loopback (HTTPS when
// useTLS) and fails with ErrUnhealthy unless it answers 200. The binaries run
// it for container HEALTHCHECKs, since their images have no curl. Over TLS it
// does not verify the certificate: it is issued for the service's public
// name, and the check talks to its own process on loopback.
func Healthcheck(ctx context.Context, listen string, useTLS bool) error {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("healthcheck: %w: %w", ErrUnhealthy, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	scheme, transport := "http", &http.Transport{}
	if useTLS {
		scheme, transport.TLSClientConfig = "https", &tls.Config{InsecureSkipVerify: true} // loopback self-check, see above
	}
	defer transport.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w: %w", ErrUnhealthy, err)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w: %w", ErrUnhealthy, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %w: /healthz answered %s", ErrUnhealthy, resp.Status)
	}
	return nil
}

// ServeProfiles serves Go's runtime profiles (net/http/pprof) on their own
// listener, so they are never reachable through the public port. stop shuts
// the listener down and waits for it. /debug/pprof/cmdline is left out (404):
// it prints the process's arguments, secrets passed as flags included.
func ServeProfiles(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			orLogger(log).Warn("pprof server stopped", "err", err)
		}
	}()
	orLogger(log).Info("serving profiles", "addr", ln.Addr().String())
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
