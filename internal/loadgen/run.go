package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Phases, for the progress line.
const (
	phaseConnect int32 = iota
	phaseWarmup
	phaseSteady
	phaseDrain
	phaseIdle
	phaseDone
	phaseStorm
)

var phaseNames = [...]string{"connect", "warmup", "steady", "drain", "idle", "done", "storm"}

// drainPoll is how often the drain phase checks whether everything arrived.
const drainPoll = 10 * time.Millisecond

// run is the state of one Run call.
type run struct {
	cfg        Config
	gws        []gateway
	topicNames []string
	conns      []conn
	accepted   []atomic.Uint64 // per topic: publishes the publisher accepted
	seqNext    []atomic.Int64  // per topic: next seq to assign
	subs       []atomic.Int64  // per topic: held connections subscribed
	baseSum    atomic.Uint64   // Σ baseAcc over held connections
	held       atomic.Int64
	dropped    atomic.Int64
	failed     atomic.Int64
	recordFrom atomic.Int64
	phase      atomic.Int32
	start      time.Time

	readers     []*reader
	workers     []*worker
	connStats   *counters // shared by the connect workers
	connectHist *Histogram
	connectErrs reasonCounter
	pub         *publisher
	storm       *stormRun // ModeStorm only; set before the readers start
}

// Run performs one benchmark: connect, optional warmup, steady publishing
// (or idle holding), drain, then closes everything and returns the report.
// Cancelling ctx ends the current phase early; the report then says
// Interrupted. Errors are returned only for invalid configuration or when the
// tool itself cannot work (epoll, descriptors).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	gws, err := parseGateways(strings.Join(cfg.GatewayURLs, ","))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := checkFileLimit(&cfg); err != nil {
		return nil, err
	}
	r := newRun(cfg, gws)
	return r.execute(ctx)
}

func newRun(cfg Config, gws []gateway) *run {
	r := &run{
		cfg:         cfg,
		gws:         gws,
		conns:       make([]conn, cfg.Conns),
		accepted:    make([]atomic.Uint64, cfg.Topics),
		seqNext:     make([]atomic.Int64, cfg.Topics),
		subs:        make([]atomic.Int64, cfg.Topics),
		connectHist: NewHistogram(),
		connStats:   newCounters(),
	}
	r.topicNames = make([]string, cfg.Topics)
	for k := range r.topicNames {
		r.topicNames[k] = cfg.TopicPrefix + strconv.Itoa(k)
	}
	// Connection i subscribes topics i, i+1, … (mod K), sorted by name: the
	// order of the components of a multi-topic event id.
	m := cfg.TopicsPerConn
	all := make([]topicState, cfg.Conns*m)
	for i := range r.conns {
		ts := all[i*m : (i+1)*m : (i+1)*m]
		for j := range ts {
			ts[j].index = int32((i + j) % cfg.Topics)
		}
		sort.Slice(ts, func(a, b int) bool { return r.topicNames[ts[a].index] < r.topicNames[ts[b].index] })
		r.conns[i].topics = ts
		r.conns[i].fd = -1
	}
	if cfg.Warmup > 0 {
		r.recordFrom.Store(math.MaxInt64)
	}
	return r
}

// samples holds /proc and /metrics readings at one point of the run.
type samples struct {
	procs   []ProcSample
	procErr []error
	self    ProcSample
	metrics MetricsSample
	metErr  error
}

func (r *run) sample(ctx context.Context, hc *http.Client) samples {
	s := samples{procs: make([]ProcSample, len(r.cfg.PIDs)), procErr: make([]error, len(r.cfg.PIDs))}
	for i, pid := range r.cfg.PIDs {
		s.procs[i], s.procErr[i] = SampleProc(pid)
	}
	s.self, _ = SampleProc(0)
	if len(r.cfg.MetricsURLs) > 0 {
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		s.metrics, s.metErr = scrapeMetrics(mctx, hc, r.cfg.MetricsURLs)
		cancel()
	}
	return s
}

// execute runs the phases. Every goroutine it starts is stopped and waited
// for before it returns.
func (r *run) execute(ctx context.Context) (rep *Report, err error) {
	cfg := &r.cfg
	r.start = time.Now()
	metricsTransport := &http.Transport{DisableCompression: true}
	defer metricsTransport.CloseIdleConnections()
	hc := &http.Client{Transport: metricsTransport, Timeout: 5 * time.Second}

	if cfg.Mode.publishes() {
		p, err := newPublisher(r)
		if err != nil {
			return nil, err
		}
		r.pub = p
		defer p.close()
	}
	if cfg.Mode == ModeStorm {
		s, err := newStormRun(cfg.Storm)
		if err != nil {
			return nil, err
		}
		r.storm = s
		defer s.close()
	}

	before := r.sample(ctx, hc)

	// Readers.
	var stop atomic.Bool
	var readerWG sync.WaitGroup
	readerErrs := make([]error, cfg.Readers)
	defer func() {
		r.stopReaders(&stop)
		readerWG.Wait()
		for _, rd := range r.readers {
			rd.close()
		}
		for i := range r.conns {
			if c := &r.conns[i]; c.state == connOpen {
				closeFD(c.fd)
				c.fd = -1
			}
		}
		if err == nil {
			if rerr := errors.Join(readerErrs...); rerr != nil {
				err = fmt.Errorf("reader: %w", rerr)
			}
		}
	}()
	for range cfg.Readers {
		rd, err := newReader(r)
		if err != nil {
			return nil, err
		}
		r.readers = append(r.readers, rd)
	}
	for i, rd := range r.readers {
		readerWG.Add(1)
		go func() {
			defer readerWG.Done()
			readerErrs[i] = rd.loop(&stop)
		}()
	}

	for range min(cfg.ConnectConcurrency, cfg.Conns) {
		r.workers = append(r.workers, newWorker(r.connStats))
	}

	// Progress.
	progressStop := make(chan struct{})
	var progressWG sync.WaitGroup
	if cfg.Progress != nil {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			r.progress(progressStop)
		}()
	}
	defer func() {
		close(progressStop)
		progressWG.Wait()
	}()

	// Connect.
	r.phase.Store(phaseConnect)
	connectStart := time.Now()
	r.connectAll(ctx)
	connectElapsed := time.Since(connectStart)
	heldAfterConnect := r.held.Load()
	// Hand the connect phase's garbage (net.Conn objects, dial goroutine
	// stacks) back to the OS so that ssebench's own RSS shows its live
	// per-connection state.
	debug.FreeOSMemory()
	connected := r.sample(ctx, hc)

	var steadyElapsed time.Duration
	var eventsAtSteady, eventsAtSteadyEnd uint64
	if cfg.Mode == ModeIdle {
		r.phase.Store(phaseIdle)
		waitFor(ctx, cfg.Duration)
	} else {
		jobs := make(chan int, queueSlots(cfg.Rate))
		var pubWG sync.WaitGroup
		for range cfg.Publishers {
			pubWG.Add(1)
			go func() {
				defer pubWG.Done()
				r.pub.work(ctx, jobs)
			}()
		}
		if cfg.Warmup > 0 {
			r.phase.Store(phaseWarmup)
			r.pub.pace(ctx, cfg.Warmup, jobs)
		}
		r.phase.Store(phaseSteady)
		steadyStart := time.Now()
		r.recordFrom.Store(steadyStart.UnixNano())
		eventsAtSteady = r.totals().events
		r.pub.pace(ctx, cfg.Duration, jobs)
		if r.storm != nil {
			r.runStorm(ctx, jobs)
		}
		r.pub.stopped.Store(true)
		close(jobs)
		pubWG.Wait()
		steadyElapsed = time.Since(steadyStart)
		eventsAtSteadyEnd = r.totals().events
		r.phase.Store(phaseDrain)
		r.drain(ctx)
		if r.storm != nil {
			r.finishStorm(ctx)
		}
	}
	end := r.sample(ctx, hc)
	r.phase.Store(phaseDone)

	// Stop the readers now (the deferred stop is then a no-op) so that the
	// connections' state can be read without racing them.
	r.stopReaders(&stop)
	readerWG.Wait()
	r.finalize()

	rep = r.report(ctx, before, connected, end)
	rep.Connections.HeldAfterConnect = int(heldAfterConnect)
	rep.Connections.ConnectSeconds = connectElapsed.Seconds()
	if rep.Delivery != nil && steadyElapsed > 0 {
		rep.Delivery.PerSecond = float64(eventsAtSteadyEnd-eventsAtSteady) / steadyElapsed.Seconds()
		rep.Publish.SteadySeconds = steadyElapsed.Seconds()
		rep.Publish.AchievedRate = float64(r.pub.attempted.Load()) / (steadyElapsed + cfg.Warmup).Seconds()
	}
	if r.storm != nil {
		rep.Storm = r.stormReport()
	}
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

// connectAll opens the connections with ConnectConcurrency workers.
func (r *run) connectAll(ctx context.Context) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= r.cfg.Conns {
					return
				}
				if ctx.Err() != nil {
					r.failed.Add(1)
					r.connectErrs.add("cancelled")
					continue
				}
				if err := r.connect(ctx, w, i); err != nil {
					r.conns[i].state = connFailed
					r.failed.Add(1)
					var ce *connectError
					if errors.As(err, &ce) {
						r.connectErrs.add(ce.reason)
					} else {
						r.connectErrs.add("other")
					}
				}
			}
		}()
	}
	wg.Wait()
}

// drain waits up to Drain for in-flight events, ending early when every
// held connection has every event it should get.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for time.Now().Before(deadline) {
		if r.dropped.Load() == 0 {
			var want uint64
			for k := range r.accepted {
				want += r.accepted[k].Load() * uint64(r.subs[k].Load())
			}
			want -= min(want, r.baseSum.Load())
			if r.totals().unique >= want {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitFor waits d or until ctx is done.
func waitFor(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// stopReaders sets stop and wakes every reader parked waiting for events.
func (r *run) stopReaders(stop *atomic.Bool) {
	stop.Store(true)
	for _, rd := range r.readers {
		rd.wake()
	}
}
