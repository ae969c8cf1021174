package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ReconnectFromRetry, as StormConfig.ReconnectDelay, waits what the
// gateway's last `retry:` field said, as EventSource does.
const ReconnectFromRetry time.Duration = -1

// maxReconnectAttempts bounds the attempts of one connection in a storm;
// after that it counts as dropped (reason reconnect_failed).
const maxReconnectAttempts = 10

// minRetryDelay spaces a failed attempt's retry when the configured delay
// is shorter, so a refusing gateway is not hammered in a loop.
const minRetryDelay = 50 * time.Millisecond

// StormConfig describes the reconnect storm of ModeStorm: after the steady
// phase, gateway A (KillPID) is killed with SIGKILL and every connection
// reconnects to URLs (gateway B) with its Last-Event-ID.
type StormConfig struct {
	// URLs are the gateways the connections reconnect to, round-robin.
	URLs []string
	// KillPID is gateway A's process, killed with SIGKILL.
	KillPID int
	// RedisAddr is the Redis (host:port, loopback) whose INFO
	// commandstats is read before the kill and after the drain.
	RedisAddr string
	// ReconnectDelay is the wait after a connection ends before it
	// reconnects; ReconnectFromRetry uses the gateway's `retry:` hint.
	ReconnectDelay time.Duration
	// ReconnectJitter (0…1) draws each wait from [d·(1−j), d], like the
	// JS client's own reopenings; 0 is EventSource (no jitter).
	ReconnectJitter float64
	// Timeout bounds the wait, from the kill, for every connection to
	// resume; After keeps publishing this long once all have.
	Timeout time.Duration
	After   time.Duration
	// Concurrency bounds the reconnection attempts in flight; 0 allows one
	// per client, as independent browsers would (a smaller bound makes the
	// tool, not the gateway, delay the resumes).
	Concurrency int
}

func defaultStormConfig() StormConfig {
	return StormConfig{ReconnectDelay: ReconnectFromRetry, Timeout: 30 * time.Second, After: 2 * time.Second}
}

// validateStorm checks the storm settings (ModeStorm only).
func (c *Config) validateStorm() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	s := &c.Storm
	if _, err := parseGateways(strings.Join(s.URLs, ",")); err != nil {
		errs = append(errs, fmt.Errorf("storm-url: %w", err))
	}
	if s.KillPID <= 1 || s.KillPID == os.Getpid() {
		add("kill-pid %d: give gateway A's process id", s.KillPID)
	}
	if err := CheckLoopbackHostPort(s.RedisAddr); err != nil {
		errs = append(errs, fmt.Errorf("stats-redis: %w", err))
	}
	if c.RedisAddr != "" {
		add("redis-addr: a storm publishes through the publisher (events need ids to resume from)")
	}
	if s.ReconnectDelay != ReconnectFromRetry && (s.ReconnectDelay < 0 || s.ReconnectDelay > time.Minute) {
		add("reconnect-delay %v: must be in [0, 1m] or \"retry\"", s.ReconnectDelay)
	}
	if s.ReconnectJitter < 0 || s.ReconnectJitter > 1 {
		add("reconnect-jitter %v: must be in [0, 1]", s.ReconnectJitter)
	}
	if s.Timeout <= 0 || s.Timeout > MaxAuxDuration {
		add("storm-timeout %v: must be in (0, %v]", s.Timeout, MaxAuxDuration)
	}
	if s.After < 0 || s.After > MaxAuxDuration {
		add("storm-after %v: must be in [0, %v]", s.After, MaxAuxDuration)
	}
	if s.Concurrency < 0 {
		add("reconnect-concurrency %d: must not be negative", s.Concurrency)
	}
	return errs
}

// stormRun is the state of a storm. The readers hand dropped connections
// to its queue while it is armed; reconnect workers take them from there.
type stormRun struct {
	cfg    StormConfig
	gws    []gateway
	stats  *statsClient
	queue  *reconnectQueue
	armed  atomic.Bool
	drops  atomic.Int64
	failed atomic.Int64 // connections that gave up reconnecting

	dropReasons reasonCounter
	attemptErrs reasonCounter
	// Written by the run's goroutine only.
	killAt       time.Time
	killErr      error
	heldAtKill   int64
	accAtKill    uint64 // publishes accepted before the kill
	stormEnd     time.Time
	before       CommandStats
	after        CommandStats
	statsErr     error
	statsAfterAt time.Time
}

func newStormRun(cfg StormConfig) (*stormRun, error) {
	gws, err := parseGateways(strings.Join(cfg.URLs, ","))
	if err != nil {
		return nil, fmt.Errorf("storm-url: %w", err)
	}
	st, err := newStatsClient(cfg.RedisAddr)
	if err != nil {
		return nil, err
	}
	return &stormRun{cfg: cfg, gws: gws, stats: st, queue: newReconnectQueue()}, nil
}

func (s *stormRun) close() { s.stats.close() }

// delay is connection c's wait before its next attempt.
func (s *stormRun) delay(c *conn) time.Duration {
	d := s.cfg.ReconnectDelay
	if d == ReconnectFromRetry {
		d = time.Duration(c.retryMs) * time.Millisecond
	}
	if j := s.cfg.ReconnectJitter; j > 0 {
		d -= time.Duration(float64(d) * j * rand.Float64())
	}
	return d
}

// dropped takes over connection i, whose stream just ended, from its
// reader (which has closed the descriptor) and schedules its reconnection.
func (s *stormRun) dropped(r *run, i int, reason uint8, now time.Time) {
	c := &r.conns[i]
	c.ready.Store(false)
	c.state = connReconnecting
	c.dropAt = now.UnixNano()
	c.parser.Reconnect()
	r.held.Add(-1)
	s.drops.Add(1)
	s.dropReasons.add(dropNames[reason])
	s.schedule(c, i, now.Add(s.delay(c)))
}

// schedule queues connection i's next attempt at at, noting when it is due.
func (s *stormRun) schedule(c *conn, i int, at time.Time) {
	c.dueAt = at.UnixNano()
	s.queue.push(i, at)
}

// attemptFailed schedules another attempt for connection i, or gives up
// after maxReconnectAttempts: the connection then counts as dropped and
// what it missed as missing.
func (s *stormRun) attemptFailed(r *run, i int, err error) {
	c := &r.conns[i]
	var ce *connectError
	if errors.As(err, &ce) {
		s.attemptErrs.add(ce.reason)
	} else {
		s.attemptErrs.add("other")
	}
	if c.attempts < maxReconnectAttempts {
		s.schedule(c, i, time.Now().Add(max(s.delay(c), minRetryDelay)))
		return
	}
	c.state = connClosed
	c.dropReason = dropReconnect
	for j := range c.topics {
		t := &c.topics[j]
		t.endAcc = r.accepted[t.index].Load()
		r.subs[t.index].Add(-1)
	}
	r.dropped.Add(1)
	s.failed.Add(1)
}

// stormSettled counts the connections that resumed (or gave up) since the
// kill.
func (r *run) stormSettled() int64 {
	var n int64
	for _, c := range r.allCounters() {
		n += c.resumed.Load()
	}
	return n + r.storm.failed.Load()
}

// runStorm is the storm phase, after the steady one: publishing goes on,
// gateway A is killed, and the phase ends Storm.After after every
// connection held at the kill has resumed (or given up), or Storm.Timeout
// after the kill. Every goroutine it starts has ended when it returns.
func (r *run) runStorm(ctx context.Context, jobs chan<- int) {
	s := r.storm
	pctx, stopPace := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.pub.pace(pctx, MaxDuration, jobs)
	}()
	stopReconnects := r.startReconnects(ctx, &wg)
	defer func() {
		s.armed.Store(false)
		stopPace()
		stopReconnects()
		wg.Wait()
		s.stormEnd = time.Now()
	}()

	s.before, s.statsErr = s.stats.sample(ctx)
	s.heldAtKill = r.held.Load()
	for k := range r.accepted {
		s.accAtKill += r.accepted[k].Load()
	}
	s.armed.Store(true)
	r.phase.Store(phaseStorm)
	s.killAt = time.Now()
	if err := killProcess(s.cfg.KillPID); err != nil {
		s.killErr = fmt.Errorf("kill -9 %d: %w", s.cfg.KillPID, err)
		return
	}
	deadline := s.killAt.Add(s.cfg.Timeout)
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for r.stormSettled() < s.heldAtKill && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	waitFor(ctx, s.cfg.After)
}

// startReconnects starts the queue's scheduler and a dispatcher that runs
// each due attempt in its own goroutine, at most Storm.Concurrency at once;
// the returned function stops them (wg waits for them and their attempts).
func (r *run) startReconnects(ctx context.Context, wg *sync.WaitGroup) (stop func()) {
	ready := make(chan int, len(r.conns))
	done := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.storm.queue.run(done, ready)
	}()
	go func() {
		defer wg.Done()
		r.dispatchReconnects(ctx, ready)
	}()
	return func() { close(done) }
}

// dispatchReconnects runs an attempt for every connection from ready until
// it is closed, then waits for the attempts. Workers (their header buffers)
// are reused: there are only as many as attempts ever ran at once.
func (r *run) dispatchReconnects(ctx context.Context, ready <-chan int) {
	limit := r.storm.cfg.Concurrency
	if limit <= 0 || limit > len(r.conns) {
		limit = len(r.conns)
	}
	sem := make(chan struct{}, limit)
	idle := make(chan *worker, limit)
	var attempts sync.WaitGroup
	defer attempts.Wait()
	for i := range ready {
		sem <- struct{}{}
		var w *worker
		select {
		case w = <-idle:
		default:
			w = newWorker(r.connStats)
		}
		attempts.Add(1)
		go func() {
			defer attempts.Done()
			r.reconnect(ctx, w, i)
			idle <- w // never blocks: at most limit workers exist
			<-sem
		}()
	}
}

// finishStorm reads Redis's counters once the drain is over.
func (r *run) finishStorm(ctx context.Context) {
	s := r.storm
	after, err := s.stats.sample(ctx)
	s.after, s.statsAfterAt = after, time.Now()
	if s.statsErr == nil {
		s.statsErr = err
	}
}

// killProcess kills pid at once (SIGKILL on Unix, TerminateProcess on
// Windows), as a crash would.
func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
