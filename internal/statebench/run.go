package statebench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Config Config `json:"config"`
	// Seed is how long publishing the Keys seed events took.
	Seed time.Duration `json:"seed_ns"`
	// State is the connect phase.
	State StateResult `json:"state"`
	// Commands is what Redis ran during the connect phase, by command
	// (nil without a Redis address).
	Commands map[string]int64 `json:"redis_commands,omitempty"`
	// Idle is what Redis ran during the idle Baseline window before.
	Idle map[string]int64 `json:"redis_commands_idle,omitempty"`
	// Publish is the publish-cost phase: [0] without key, [1] with.
	Publish [2]PublishMode `json:"publish"`
}

// StateResult sums up the clients of the connect phase.
type StateResult struct {
	Clients int `json:"clients"`
	// Complete counts the clients whose marker came after exactly Keys
	// events and said Keys; Failed the others.
	Complete int `json:"complete"`
	Failed   int `json:"failed"`
	// FirstError is one failure's text.
	FirstError string `json:"first_error,omitempty"`
	// AllComplete is release → the last marker (only when none failed).
	AllComplete time.Duration `json:"all_complete_ns"`
	// Headers and Marker percentiles over the complete clients.
	HeadersP50 time.Duration `json:"headers_p50_ns"`
	HeadersP99 time.Duration `json:"headers_p99_ns"`
	MarkerP50  time.Duration `json:"marker_p50_ns"`
	MarkerP99  time.Duration `json:"marker_p99_ns"`
	// Events and Bytes received before the markers, all clients together.
	Events int64 `json:"events"`
	Bytes  int64 `json:"bytes"`
}

// ErrIncomplete is returned (with the report) when a client did not get
// the whole state before StateTimeout.
var ErrIncomplete = errors.New("not every client got the whole state")

// Run seeds the state, opens the clients, measures the publish cost, and
// returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: max(cfg.Workers, cfg.SeedWorkers), DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	pub := newPublisher(hc, cfg.PublishURL, cfg.PayloadBytes)
	rep := &Report{Config: cfg}

	t0 := time.Now()
	if err := pub.seed(ctx, cfg.Topic, cfg.Keys, cfg.SeedWorkers); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	rep.Seed = time.Since(t0)

	var before map[string]int64
	if cfg.RedisAddr != "" {
		var err error
		if rep.Idle, before, err = idleCommands(ctx, cfg.RedisAddr, cfg.Baseline); err != nil {
			return nil, err
		}
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.StateTimeout)
	st := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}
	results := openAll(sctx, &http.Client{Transport: st}, streamURL(strings.TrimRight(cfg.GatewayURL, "/"), cfg.Topic), cfg.Clients, cfg.Keys)
	cancel()
	st.CloseIdleConnections()
	if cfg.RedisAddr != "" {
		after, err := commandStats(ctx, cfg.RedisAddr)
		if err != nil {
			return nil, err
		}
		rep.Commands = commandDelta(before, after)
	}
	rep.State = summarize(results)

	rep.Publish = publishCost(ctx, pub, cfg)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if rep.State.Failed > 0 {
		return rep, fmt.Errorf("%w: %d of %d failed, e.g. %s", ErrIncomplete, rep.State.Failed, rep.State.Clients, rep.State.FirstError)
	}
	return rep, nil
}

// idleCommands counts Redis's commands over an idle window of length d
// (none when d is 0) and returns them with the stats at its end.
func idleCommands(ctx context.Context, addr string, d time.Duration) (idle, end map[string]int64, err error) {
	start, err := commandStats(ctx, addr)
	if err != nil || d == 0 {
		return nil, start, err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	end, err = commandStats(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	return commandDelta(start, end), end, nil
}

// summarize turns the clients' results into a StateResult.
func summarize(results []clientResult) StateResult {
	s := StateResult{Clients: len(results)}
	var headers, markers []time.Duration
	for _, r := range results {
		s.Bytes += r.bytes
		s.Events += int64(r.events)
		if r.err != nil {
			s.Failed++
			if s.FirstError == "" {
				s.FirstError = r.err.Error()
			}
			continue
		}
		s.Complete++
		headers = append(headers, r.headers)
		markers = append(markers, r.marker)
	}
	slices.Sort(headers)
	slices.Sort(markers)
	s.HeadersP50, s.HeadersP99 = quantile(headers, 0.5), quantile(headers, 0.99)
	s.MarkerP50, s.MarkerP99 = quantile(markers, 0.5), quantile(markers, 0.99)
	if s.Failed == 0 && len(markers) > 0 {
		s.AllComplete = markers[len(markers)-1]
	}
	return s
}

// quantile of sorted durations (nearest rank); 0 when empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
