package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// CommandStats maps a Redis command name, as INFO commandstats spells it
// ("xrange", "xinfo|stream"), to its number of calls. Commands a Lua script
// runs are counted under their own names as well as the script's
// EVAL/EVALSHA.
type CommandStats map[string]uint64

// parseCommandStats reads the lines "cmdstat_<name>:calls=N,usec=…" of an
// INFO commandstats answer; other lines are ignored.
func parseCommandStats(info string) (CommandStats, error) {
	out := CommandStats{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "cmdstat_")
		if !ok {
			continue
		}
		name, fields, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("commandstats line %q: no ':'", line)
		}
		calls, ok := strings.CutPrefix(strings.SplitN(fields, ",", 2)[0], "calls=")
		if !ok {
			return nil, fmt.Errorf("commandstats line %q: no calls=", line)
		}
		n, err := strconv.ParseUint(calls, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("commandstats line %q: %w", line, err)
		}
		out[strings.ToLower(name)] = n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("commandstats: %w", err)
	}
	return out, nil
}

// sub returns the calls made between two samples, without the commands
// whose count did not change.
func (after CommandStats) sub(before CommandStats) CommandStats {
	out := CommandStats{}
	for name, n := range after {
		if d := n - min(n, before[name]); d > 0 {
			out[name] = d
		}
	}
	return out
}

// sum adds the calls of names.
func (s CommandStats) sum(names ...string) uint64 {
	var n uint64
	for _, name := range names {
		n += s[name]
	}
	return n
}

// names returns the command names, most called first.
func (s CommandStats) names() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return s[out[i]] > s[out[j]] || s[out[i]] == s[out[j]] && out[i] < out[j] })
	return out
}

// statsClient reads INFO commandstats from one Redis.
type statsClient struct {
	c rueidis.Client
}

// newStatsClient connects to addr, which must be loopback.
func newStatsClient(addr string) (*statsClient, error) {
	if err := CheckLoopbackHostPort(addr); err != nil {
		return nil, fmt.Errorf("stats redis: %w", err)
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		return nil, fmt.Errorf("stats redis %s: %w", addr, err)
	}
	return &statsClient{c: c}, nil
}

func (s *statsClient) close() { s.c.Close() }

// sample reads the counters; it is bounded by 5 s.
func (s *statsClient) sample(ctx context.Context) (CommandStats, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	info, err := s.c.Do(ctx, s.c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		return nil, fmt.Errorf("INFO commandstats: %w", err)
	}
	return parseCommandStats(info)
}

// RedisCommands is what Redis executed during the storm (INFO commandstats
// after − before), with the publisher's share told apart from the readers'.
type RedisCommands struct {
	// Seconds is the length of the sampled window.
	Seconds float64 `json:"seconds"`
	// ByCommand is every command whose count changed, script-inner
	// commands included.
	ByCommand CommandStats `json:"by_command"`
	// Publishes is the publisher's share: one publish script per event,
	// each running one XADD (so XADD counts them).
	Publishes uint64 `json:"publishes"`
	// ReaderScripts is EVAL+EVALSHA minus Publishes: the scripts the
	// gateways ran (history pages, state reads).
	ReaderScripts uint64 `json:"reader_scripts"`
	// HistoryReads is XRANGE+XREVRANGE+XREAD, direct or inside a script:
	// the gateways' history reads (the publisher runs none).
	HistoryReads uint64 `json:"history_reads"`
	// Error is set when a sample could not be read.
	Error string `json:"error,omitempty"`
}

// redisCommands derives the report from two samples.
func redisCommands(before, after CommandStats, window time.Duration) *RedisCommands {
	d := after.sub(before)
	pubs := d.sum("xadd")
	scripts := d.sum("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro")
	return &RedisCommands{
		Seconds:       window.Seconds(),
		ByCommand:     d,
		Publishes:     pubs,
		ReaderScripts: scripts - min(scripts, pubs),
		HistoryReads:  d.sum("xrange", "xrevrange", "xread"),
	}
}
