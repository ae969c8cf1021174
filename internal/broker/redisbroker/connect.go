package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/redact"
)

// Broker talks to Redis. It holds two clients: one for commands (publish,
// history) and one used only for the subscription, so a slow or reconnecting
// subscription never delays a publish and vice versa.
//
// When Redis does not answer at start, the broker starts without clients:
// commands fail with broker.ErrUnavailable and the subscription is not
// healthy, while a connector goroutine (stopped by Close) retries until
// Redis answers and then attaches the clients.
type Broker struct {
	conns   atomic.Pointer[conns] // nil until Redis first answered
	log     *slog.Logger
	sharded bool
	seeds   string // the configured addresses, for the status page
	access  Access
	hist    broker.HistoryConfig
	publish *rueidis.Lua
	page    *rueidis.Lua
	faults  *faults // classes, counts and logs failed commands
	state   *rueidis.Lua

	subs *subscriber

	stopConnect context.CancelFunc
	connecting  sync.WaitGroup
	mu          sync.Mutex // orders attach against Close
	closed      bool
}

// New makes a broker for opts. A setting that cannot work (a malformed
// URL; with Redis reachable, a rejected password or a missing permission)
// is a *ConfigError. Redis being unreachable is not an error: the broker
// starts degraded and connects as soon as Redis answers.
//
// New takes no context on purpose: its first attempt is bounded by
// connectTimeout, and the connecting goroutine it may start belongs to the
// broker (Close ends it), not to the caller.
//
//nolint:contextcheck // fresh contexts on purpose, see above
func New(opts Options) (*Broker, error) {
	co, err := ClientOption(opts.URL, opts.SentinelMaster)
	if err != nil {
		return nil, err
	}
	if err := opts.Security.apply(&co); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hist := opts.History
	if hist.MaxLen <= 0 {
		hist.MaxLen = broker.DefaultHistory().MaxLen
	}
	if hist.State.MaxKeys <= 0 {
		hist.State.MaxKeys = broker.DefaultStateMaxKeys
	}
	b := &Broker{log: log, sharded: opts.Sharded, access: opts.Access, hist: hist, faults: newFaults(log)}
	b.seeds = strings.Join(co.InitAddress, ",")
	b.publish, b.page, b.state = newScripts()
	b.subs = newSubscriber(opts.Sharded, log)
	c, err := b.dial(context.Background(), co)
	switch {
	case err == nil:
		b.attach(c)
		return b, nil
	case configError(err) != nil:
		return nil, err
	}
	log.Warn("redis unreachable at start; answering 503 until it answers", "err", err)
	ctx, cancel := context.WithCancel(context.Background())
	b.stopConnect = cancel
	b.connecting.Add(1)
	go func() {
		defer b.connecting.Done()
		b.connect(ctx, co, err)
	}()
	return b, nil
}

// attach installs the clients once Redis answered (at most once); after
// Close it releases them instead.
func (b *Broker) attach(c *conns) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		c.close()
		return
	}
	b.conns.Store(c)
	b.subs.attach(c.sub, c.opt)
}

// cmd returns the command client, or an error wrapping
// broker.ErrUnavailable while Redis has not answered since start.
func (b *Broker) cmd() (rueidis.Client, error) {
	if c := b.conns.Load(); c != nil {
		return c.cmd, nil
	}
	return nil, b.faults.failed("connect", errNotConnected)
}

// ClientOption turns a URL (and optional Sentinel master set) into rueidis
// options with the settings ssegate relies on.
func ClientOption(url, sentinelMaster string) (rueidis.ClientOption, error) {
	co, err := rueidis.ParseURL(url)
	if err != nil {
		return co, urlError(url, err)
	}
	co.DisableCache = true // no client-side caching: it would issue CLIENT TRACKING
	if sentinelMaster != "" {
		co.Sentinel.MasterSet = sentinelMaster
	}
	if co.ConnWriteTimeout == 0 {
		// Notice a silent partition within seconds instead of the default 10 s.
		co.ConnWriteTimeout = 3 * time.Second
	}
	if co.Dialer.Timeout == 0 {
		co.Dialer.Timeout = 2 * time.Second
	}
	return co, nil
}

// Close releases both clients and the subscription connections; a running
// Run returns.
func (b *Broker) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	if b.stopConnect != nil {
		b.stopConnect()
		b.connecting.Wait()
	}
	b.subs.close()
	if c := b.conns.Load(); c != nil {
		c.close()
	}
}

// urlForm is how the settings spell a Redis URL, for hints.
const urlForm = "redis://user:pass@host:port/db"

// connectTimeout bounds the checks New and the connector run on a fresh
// connection (the permission probe).
const connectTimeout = 5 * time.Second

// errNotConnected is what commands answer before Redis ever answered: the
// broker started while Redis was down and is still trying.
var errNotConnected = errors.New("redis has not answered since start")

// ConfigError is a Redis setting that cannot work, whatever the state of
// the network: a malformed URL, a password Redis rejects, a user without a
// permission ssegate needs. Retrying does not help; an operator must fix a
// setting (or the Redis ACL). Its message is one line saying what to fix.
type ConfigError struct {
	Fix string // what is wrong and what to do, one line
	Err error  // the underlying error (Redis's reply, the URL parser's)
}

func (e *ConfigError) Error() string { return e.Fix }

func (e *ConfigError) Unwrap() error { return e.Err }

// urlError explains a URL rueidis.ParseURL refused. The URL is shown with
// its credentials masked, and any piece of them that net/url quoted in its
// message (a bad port or escape taken from the password) is masked too.
func urlError(raw string, err error) error {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	msg = strings.TrimPrefix(msg, "redis: ")
	fix := fmt.Errorf("SSEGATE_REDIS_URL (-redis-url) is not a valid Redis URL (%s): want %s or rediss://… (got %s)", msg, urlForm, redact.URL(raw))
	return &ConfigError{Fix: redact.Error(fix, raw).Error(), Err: redact.Error(err, raw)}
}

// configError returns a *ConfigError when err, met while connecting, is a
// setting to fix rather than Redis being away; else nil. Rejected
// credentials (WRONGPASS, NOAUTH), a missing ACL permission (NOPERM), a
// TLS certificate the client does not trust, and any other error reply
// that is not transient (e.g. a cluster seed list against a standalone
// server) are configuration errors.
func configError(err error) error {
	if err == nil {
		return nil
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, ErrSeedsNotCluster) {
		return &ConfigError{Fix: err.Error(), Err: err}
	}
	if te := tlsConfigError(err); te != nil {
		return te
	}
	var re *rueidis.RedisError
	if !errors.As(err, &re) || transient(err) {
		return nil
	}
	msg := re.Error()
	code, _, _ := strings.Cut(msg, " ")
	switch {
	case code == "WRONGPASS" || strings.Contains(msg, "invalid username-password"):
		return &ConfigError{Fix: "redis rejected the password: set it in SSEGATE_REDIS_URL as " + urlForm, Err: err}
	case code == "NOAUTH":
		return &ConfigError{Fix: "redis requires a password: set it in SSEGATE_REDIS_URL as " + urlForm, Err: err}
	case strings.Contains(msg, "without any password configured"):
		return &ConfigError{Fix: "redis has no password for this user: remove it from SSEGATE_REDIS_URL, or set one in Redis (requirepass, ACL SETUSER)", Err: err}
	case code == "NOPERM" || strings.Contains(msg, "NOPERM"):
		return &ConfigError{Fix: "the redis user lacks a permission (" + msg + "): grant it with ACL SETUSER (README: Managed and secured Redis)", Err: err}
	}
	return &ConfigError{Fix: "redis refused the connection (" + msg + "): check SSEGATE_REDIS_URL and the Redis mode (standalone, Sentinel, Cluster)", Err: err}
}

// conns are the two rueidis clients, made once Redis first answers.
type conns struct {
	cmd, sub rueidis.Client
	opt      rueidis.ClientOption
}

// close releases both clients.
func (c *conns) close() {
	c.sub.Close()
	c.cmd.Close()
}

// dial makes both clients and checks them: rueidis connects (and
// authenticates) when a client is made, and the probe runs what the
// service will run (see probe), so a missing permission shows now rather
// than on the first event. The error is a *ConfigError, or a transient one.
func (b *Broker) dial(ctx context.Context, co rueidis.ClientOption) (*conns, error) {
	cmd, err := rueidis.NewClient(co)
	if err != nil {
		return nil, classify(explainConnect(err, co))
	}
	sub, err := rueidis.NewClient(co)
	if err != nil {
		cmd.Close()
		return nil, classify(err)
	}
	c := &conns{cmd: cmd, sub: sub, opt: co}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := probe(ctx, c, b.access, b.sharded); err != nil {
		c.close()
		return nil, classify(err)
	}
	return c, nil
}

// classify marks a connection error as a *ConfigError or as
// broker.ErrUnavailable.
func classify(err error) error {
	if ce := configError(err); ce != nil {
		return ce
	}
	return fmt.Errorf("connect to redis: %w: %w", broker.ErrUnavailable, err)
}

// connect keeps trying to reach Redis after New found it down, with
// backoff, until it answers (the clients are then attached), ctx ends or
// the broker closes. It logs each change of state once: an error class
// (unreachable, or a setting Redis refuses) when it first appears, and the
// connection when it succeeds; retries in between are debug lines.
func (b *Broker) connect(ctx context.Context, co rueidis.ClientOption, last error) {
	var r retryState
	r.fail(time.Now())
	timer := time.NewTimer(r.backoff)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		c, err := b.dial(ctx, co)
		if err == nil {
			b.attach(c)
			b.log.Info("redis connected", "cluster", c.sub.Mode() == rueidis.ClientModeCluster)
			return
		}
		if ctx.Err() != nil {
			return
		}
		r.fail(time.Now())
		switch {
		case sameClass(err, last):
			b.log.Debug("redis still not usable; retrying", "err", err, "retry_in", r.backoff.String())
		case configError(err) != nil:
			b.log.Error(err.Error()+"; not ready until fixed, retrying", "retry_in", r.backoff.String())
		default:
			b.log.Warn("redis unreachable; answering 503 until it answers", "err", err)
		}
		last = err
		timer.Reset(r.backoff)
	}
}

// sameClass reports whether two connection errors call for the same log
// line: both transient, or the same configuration fix.
func sameClass(a, b error) bool {
	var ca, cb *ConfigError
	okA, okB := errors.As(a, &ca), errors.As(b, &cb)
	if okA != okB {
		return false
	}
	return !okA || ca.Fix == cb.Fix
}
