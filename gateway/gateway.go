// Package gateway is ssegate's SSE gateway: it holds one broker subscription
// per process and fans every message out to many Server-Sent Events clients
// (browser EventSource), resuming each client from its Last-Event-ID.
//
// The path of one event: the broker delivers a channel message to the feed,
// which hands it to the hub; the hub encodes the SSE frame once and queues
// the same bytes on every local connection of the topic without blocking; each
// connection's writer drains its queue in one write. A client that cannot
// keep up is disconnected instead of slowing the others, and comes back
// through its browser's automatic reconnection with Last-Event-ID, which the
// gateway answers from the topic's history before going live again.
//
// A stream is written along one of two paths, each a type behind the
// writer interface (writer.go); both send the same bytes, built once per
// event (frame.go). httpWriter (writer_http.go) is the stream's own handler
// goroutine writing through net/http: HTTP/2, TLS, SSEGATE_WRITERS=-1, and
// every OS but Linux. On Linux a plain HTTP/1.1 stream is hijacked:
// pooledWriter (pool_linux.go) writes its preamble and replay from the
// handler goroutine as HTTP/1.1 chunks (chunkWriter, writer_chunked.go),
// then hands the socket to the pool. Server.stream (stream.go) hands the
// stream from step to step by return value: the writer's serve says
// whether the pool took it, or the handler ends it.
//
// Write deadlines depend on the writer. A stream written by its own handler
// goroutine (httpWriter) writes with a deadline of Config.SendTimeout,
// cleared once the write is done. On the pooled path (hijacked plain HTTP/1.1, type pool)
// the workers' writes are non-blocking and carry no deadline: a write the
// socket does not take whole stops at EAGAIN, and the rest goes to a
// goroutine of that stream alone, whose one blocking write has the send
// timeout as its deadline. So a stalled client holds no worker, and is
// bounded by the send timeout (evicted as send_timeout), sooner by its queue
// (Config.QueueSize frames: evicted as slow, its blocked write aborted at
// once); a peer that closed is noticed through epoll (EPOLLRDHUP) without a
// write. The history replay before a pooled stream goes live is written by
// the handler goroutine, with the send timeout as its deadline.
//
// Locks: every mutex of the package is taken in one order, written once in
// docs/design.md ("Lock order"); a change that takes a lock under another
// must keep to it or change it there.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/httpserver"
	"github.com/ssegate/ssegate/internal/streamid"
)

// Broker is what the gateway needs from the message bus. Implementations
// must be safe for concurrent use; redisbroker and membroker provide it.
type Broker interface {
	// Run holds the subscription until ctx ends, handing messages to sink.
	Run(ctx context.Context, sink broker.Sink) error
	// Subscribe returns once every topic is subscribed.
	Subscribe(ctx context.Context, topics []string) error
	// Unsubscribe drops topics without waiting.
	Unsubscribe(topics []string)
	// Healthy reports whether the subscription is up (readiness).
	Healthy() bool
	// HealthyFor reports whether topics can be subscribed now; on a
	// sharded Redis Cluster only their own shards matter, and for no
	// topics whether any shard is reachable (readiness: a failover of one
	// shard must not take every gateway out of the load balancer).
	HealthyFor(topics []string) bool
	// Fault returns the broker's last permission or configuration fault
	// (wrapping broker.ErrMisconfigured) while it stands, else nil
	// (readiness).
	Fault() error
	// History reads a page of a topic's history after a position.
	History(ctx context.Context, topic string, after, until streamid.ID, limit int) (broker.Page, error)
	// Last returns the newest ID a topic ever had.
	Last(ctx context.Context, topic string) (streamid.ID, error)
	// State reads a topic's keyed state with the position it is
	// consistent with, in one atomic step (state.go).
	State(ctx context.Context, topic string) (broker.State, error)
}

// Config tunes a gateway. Zero values take the defaults in DefaultConfig.
type Config struct {
	PingInterval     time.Duration // keepalive comment after this much silence
	SendTimeout      time.Duration // deadline of one write to a client
	Retry            time.Duration // reconnection delay suggested to browsers
	QueueSize        int           // frames queued per client before eviction
	MaxTopics        int           // topics per connection
	MaxTopicLen      int           // bytes per topic name
	SubscribeTimeout time.Duration // bound on subscribing a new topic
	DrainWindow      time.Duration // open streams are closed spread over this
	MaxConnections   int           // 0 = unlimited
	MaxConnsPerIP    int           // 0 = unlimited
	ConnectRatePerIP float64       // new streams per second per IP; 0 = unlimited
	ConnectBurst     int           // burst for ConnectRatePerIP
	// Writers is how many goroutines write hijacked HTTP/1.1 streams
	// (0 = one per CPU). A negative value keeps every stream on its own
	// handler goroutine behind net/http instead (HTTP/2 streams always are).
	// The pooled writer is Linux-only: elsewhere every stream keeps its
	// goroutine whatever Writers says (see pool_other.go).
	Writers int
	// StateCacheTTL is how long a read of a topic's state is reused, by
	// GET /api/state and by streams' state (state.go); default 1 s.
	StateCacheTTL time.Duration
	// StateTopics are the topics whose streams get their state first
	// without asking (?state=1; ?state=0 declines): exact names, "*" or
	// a prefix ending in "*" (topic.Match). See ParseStateTopics.
	StateTopics []string
	// Auth verifies subscriber credentials; nil lets anyone subscribe to any
	// topic, as the old endpoint did.
	Auth Authenticator
	// CORSOrigins are the origins (scheme://host[:port], or "*" for any
	// origin without credentials) whose pages may open streams; requests
	// from other origins, except the gateway's own, get 403. See
	// ParseCORSOrigins and cors.go.
	CORSOrigins []string
	// AllowedHosts, when not empty, are the host names (Host header,
	// without port) the gateway answers on every route but the probes;
	// other hosts get 421. It defends against DNS rebinding where no proxy
	// pins Host. See ParseAllowedHosts and hosts.go.
	AllowedHosts []string
	Logger       *slog.Logger
	Registry     prometheus.Registerer
}

// DefaultConfig returns the settings of the old system (15 s keepalive,
// 30 s send timeout) and ssegate's defaults for the rest.
func DefaultConfig() Config {
	return Config{
		PingInterval:     15 * time.Second,
		SendTimeout:      30 * time.Second,
		Retry:            2 * time.Second,
		QueueSize:        1024,
		MaxTopics:        32,
		MaxTopicLen:      128,
		SubscribeTimeout: 5 * time.Second,
		DrainWindow:      10 * time.Second,
		StateCacheTTL:    time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&c.PingInterval, d.PingInterval)
	set(&c.SendTimeout, d.SendTimeout)
	set(&c.Retry, d.Retry)
	set(&c.SubscribeTimeout, d.SubscribeTimeout)
	set(&c.StateCacheTTL, d.StateCacheTTL)
	if c.DrainWindow < 0 {
		c.DrainWindow = 0
	}
	if c.QueueSize <= 0 {
		c.QueueSize = d.QueueSize
	}
	if c.MaxTopics <= 0 {
		c.MaxTopics = d.MaxTopics
	}
	if c.MaxTopicLen <= 0 {
		c.MaxTopicLen = d.MaxTopicLen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c
}

// Server serves SSE streams from one broker.
type Server struct {
	cfg      Config
	broker   Broker
	log      *slog.Logger
	metrics  *Metrics
	hub      *hub
	feed     *feed
	limits   *limiter
	states   *stateCache
	pool     *pool // nil: every stream is written by its handler goroutine
	draining atomic.Bool
	connSeq  atomic.Uint64
	prefix   string
}

// New builds a gateway on b. Call Run to start it and Register to mount its
// routes.
func New(b Broker, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, broker: b, log: cfg.Logger}
	s.metrics = NewMetrics(cfg.Registry, b.Healthy)
	s.hub = newHub(cfg.Logger, s.metrics)
	s.feed = newFeed(b, s.hub, cfg.Logger, s.metrics, cfg.SubscribeTimeout)
	s.states = newStateCache(cfg.StateCacheTTL)
	s.limits = newLimiter(cfg.MaxConnections, cfg.MaxConnsPerIP, cfg.ConnectRatePerIP, cfg.ConnectBurst)
	s.prefix = strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-"
	if cfg.Writers >= 0 {
		workers := cfg.Writers
		if workers == 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		p, err := newPool(s, workers)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			// Not Linux (pool_other.go): the portable path, as with
			// Writers < 0. Worth a line only when writers were asked for.
			log := s.log.Debug
			if cfg.Writers > 0 {
				log = s.log.Info
			}
			log("pooled writer is Linux-only; using goroutine-per-stream", "writers", cfg.Writers)
		case err != nil:
			s.log.Warn("writer pool unavailable; streams keep their own goroutines", "err", err)
		default:
			s.pool = p
		}
	}
	return s
}

// Metrics returns the gateway's metrics (for tests and embedding).
func (s *Server) Metrics() *Metrics { return s.metrics }

func (s *Server) nextID() string {
	return s.prefix + strconv.FormatUint(s.connSeq.Add(1), 36)
}

// Register mounts the gateway's routes on e, the Host check (hosts.go)
// and the CORS and origin check (cors.go) in front of every route of e,
// and the count of refused streams on e's error handler (countRefusal).
func (s *Server) Register(e *echo.Echo) {
	httpserver.OnError(e, s.countRefusal)
	e.Use(s.hostCheck)
	e.Use(s.cors)
	e.GET(streamPath, s.stream)
	e.GET(statePath, s.state)
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", s.ready)
}

func (s *Server) ready(c echo.Context) error {
	fault := s.broker.Fault()
	switch {
	case s.draining.Load():
		return httperr.Unavailable("draining", "the gateway is shutting down", s.cfg.Retry)
	case !s.broker.HealthyFor(nil):
		return httperr.Unavailable("redis_unavailable", "the broker subscription is down", s.cfg.Retry)
	case fault != nil:
		return httperr.Unavailable("redis_misconfigured", "Redis refuses the gateway's commands ("+string(broker.ClassOf(fault))+"): fix the Redis ACL or configuration", s.cfg.Retry)
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "connections": s.hub.count()})
}

// Run runs the subscription, the keepalive clock and the writer pool until
// ctx ends. Streams handed to the pool must be closed first (Close).
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.clock(ctx)
	}()
	if s.pool != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.pool.run(ctx)
		}()
	}
	err := s.feed.run(ctx)
	wg.Wait()
	return err
}

// clock is the one ticker behind every connection's keepalive: no
// per-connection timers.
func (s *Server) clock(ctx context.Context) {
	// At least a millisecond: a 1ns interval would make a zero tick, which
	// NewTicker refuses with a panic.
	tick := max(min(s.cfg.PingInterval/2, time.Second), time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.hub.each(func(c *conn) {
				c.ping(now, s.cfg.PingInterval)
				if !c.expires.IsZero() && !now.Before(c.expires) {
					c.expire()
				}
			})
		}
	}
}

// Drain stops taking streams (readiness fails at once) and closes the open
// ones spread over the drain window, each with a shutdown event and a retry
// hint, so clients reconnect to other replicas gradually. It returns when
// every stream was asked to close or ctx ends.
func (s *Server) Drain(ctx context.Context) {
	s.draining.Store(true)
	var conns []*conn
	s.hub.each(func(c *conn) { conns = append(conns, c) })
	if len(conns) == 0 {
		return
	}
	s.log.Info("draining streams", "streams", len(conns), "window", s.cfg.DrainWindow)
	step := s.cfg.DrainWindow / time.Duration(len(conns))
	start := time.Now()
	for i, c := range conns {
		if wait := time.Until(start.Add(step * time.Duration(i))); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				for _, rest := range conns[i:] {
					rest.drain()
				}
				return
			}
		}
		c.drain()
	}
	// A stream that joined while the list above was taken gets its
	// shutdown event too.
	s.hub.each(func(c *conn) {
		if !c.isDraining() {
			c.drain()
		}
	})
}

// Close waits until every stream has ended, or ctx ends, and then ends the
// rest at once. After Drain, streams end by themselves; Close bounds that
// and covers the streams the pool owns, which http.Server.Shutdown does not
// know about (they were hijacked).
func (s *Server) Close(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for s.hub.count() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			s.hub.each(func(c *conn) { c.kill(reasonShutdown) })
			return
		}
	}
}

// Draining reports whether Drain has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// Connections returns the number of open streams.
func (s *Server) Connections() int { return s.hub.count() }
