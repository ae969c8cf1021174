package statebench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssegate/ssegate/internal/loadgen"
)

// PublishMode is one side of the publish-cost comparison.
type PublishMode struct {
	// Keyed says whether the events carried a "key".
	Keyed bool `json:"keyed"`
	// Published and Failed count answers (202 or not) during the phases.
	Published int64 `json:"published"`
	Failed    int64 `json:"failed"`
	// Elapsed is the phases' total length; PerSecond = Published/Elapsed.
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"per_second"`
	// Latency percentiles of successful publishes (request → 202).
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
	// FirstError is the first failure's text, if any.
	FirstError string `json:"first_error,omitempty"`
}

// modeStats accumulates one mode across its phases.
type modeStats struct {
	hist      *loadgen.Histogram
	ok, fail  atomic.Int64
	elapsed   time.Duration
	firstErr  atomic.Pointer[string]
	keyedMode bool
}

// publishCost runs cfg.Phases phases of cfg.PhaseLength in the order
// unkeyed, keyed, keyed, unkeyed, … (ABBA), each with cfg.Workers
// closed-loop publishers, and returns the unkeyed and keyed results.
func publishCost(ctx context.Context, p *publisher, cfg Config) [2]PublishMode {
	modes := [2]*modeStats{{hist: loadgen.NewHistogram()}, {hist: loadgen.NewHistogram(), keyedMode: true}}
	var seq atomic.Int64
	for i := range cfg.Phases {
		keyed := i%4 == 1 || i%4 == 2
		m := modes[0]
		if keyed {
			m = modes[1]
		}
		pctx, cancel := context.WithTimeout(ctx, cfg.PhaseLength)
		t0 := time.Now()
		var wg sync.WaitGroup
		for range cfg.Workers {
			wg.Go(func() { publishLoop(pctx, p, cfg, m, &seq) })
		}
		wg.Wait()
		m.elapsed += time.Since(t0)
		cancel()
		if ctx.Err() != nil {
			break
		}
	}
	var out [2]PublishMode
	for i, m := range modes {
		out[i] = m.result()
	}
	return out
}

// publishLoop publishes back to back until ctx ends. A request cut by the
// phase's end is not counted.
func publishLoop(ctx context.Context, p *publisher, cfg Config, m *modeStats, seq *atomic.Int64) {
	for ctx.Err() == nil {
		n := seq.Add(1)
		key := ""
		if m.keyedMode {
			key = keyName(int(n % int64(cfg.Keys)))
		}
		t0 := time.Now()
		err := p.post(ctx, cfg.PublishTopic, key, n)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			m.fail.Add(1)
			msg := err.Error()
			m.firstErr.CompareAndSwap(nil, &msg)
		default:
			m.hist.RecordDuration(time.Since(t0))
			m.ok.Add(1)
		}
	}
}

func (m *modeStats) result() PublishMode {
	r := PublishMode{Keyed: m.keyedMode, Published: m.ok.Load(), Failed: m.fail.Load(), Elapsed: m.elapsed}
	if m.elapsed > 0 {
		r.PerSecond = float64(r.Published) / m.elapsed.Seconds()
	}
	if r.Published > 0 {
		r.P50 = time.Duration(m.hist.Quantile(0.50))
		r.P99 = time.Duration(m.hist.Quantile(0.99))
		r.Max = time.Duration(m.hist.Max())
	}
	if e := m.firstErr.Load(); e != nil {
		r.FirstError = *e
	}
	return r
}
