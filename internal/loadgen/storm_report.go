package loadgen

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// StormReport is what a reconnect storm (ModeStorm) measured. Times are
// from the SIGKILL of gateway A.
type StormReport struct {
	KilledPID int      `json:"killed_pid"`
	KillError string   `json:"kill_error,omitempty"`
	Gateways  []string `json:"gateways"`
	// Topics and Clients (connections held at the kill) are the two sizes
	// the Redis figures are to be read against.
	Topics  int   `json:"topics"`
	Clients int64 `json:"clients"`
	// Resumed clients got their first event or position frame from a
	// storm gateway; Failed gave up after every attempt failed.
	Resumed int64 `json:"resumed"`
	Failed  int64 `json:"failed"`
	// Resumed99Seconds and Resumed100Seconds: time until 99% and 100% of
	// Clients had resumed; -1 when that share never did.
	Resumed99Seconds  float64 `json:"resumed_99_seconds"`
	Resumed100Seconds float64 `json:"resumed_100_seconds"`
	// ReconnectDelay is "retry" (the gateway's hint) or a duration;
	// ReconnectJitter the random fraction of each delay.
	ReconnectDelay  string  `json:"reconnect_delay"`
	ReconnectJitter float64 `json:"reconnect_jitter"`
	// DropSeen is kill → the client saw its stream end; ResumeTime is
	// the successful attempt's start → resumed (the storm gateway's part).
	DropSeen   Durations `json:"drop_seen"`
	ResumeTime Durations `json:"resume_time"`
	// DispatchLag is, per resumed client, how late the load tool started
	// its successful attempt after its reconnection delay ended: time the
	// client side (sharing the machine) added, not the gateway.
	DispatchLag Durations `json:"dispatch_lag"`
	// Attempts counts reconnection attempts; AttemptErrors the failed ones.
	Attempts      uint64           `json:"attempts"`
	AttemptErrors map[string]int64 `json:"attempt_errors,omitempty"`
	// Lost is Σ per client of events accepted on its topics from its first
	// connection to the end that it never received; ClientsWithLoss how
	// many clients lost any. Duplicates and IDViolations as in Delivery.
	Lost            uint64 `json:"lost"`
	ClientsWithLoss int    `json:"clients_with_loss"`
	Duplicates      uint64 `json:"duplicates"`
	IDViolations    uint64 `json:"id_violations"`
	// LiveLatency is publish → receive on the storm gateways of events
	// published after the client's reconnection started (replayed events
	// are left out), from the kill to the end of the drain.
	LiveLatency Durations `json:"live_latency"`
	// StormSeconds is kill → end of the storm phase.
	StormSeconds float64 `json:"storm_seconds"`
	// Redis is INFO commandstats from just before the kill to the end of
	// the drain; PublishedSinceKill is what the publisher accepted in that
	// time, to compare with Redis.Publishes.
	Redis              *RedisCommands `json:"redis"`
	PublishedSinceKill uint64         `json:"published_since_kill"`
}

// stormReport assembles the StormReport after finalize.
func (r *run) stormReport() *StormReport {
	s := r.storm
	rep := &StormReport{
		KilledPID: s.cfg.KillPID, Topics: r.cfg.Topics, Clients: s.heldAtKill,
		Failed: s.failed.Load(), ReconnectDelay: "retry", ReconnectJitter: s.cfg.ReconnectJitter,
		AttemptErrors: s.attemptErrs.snapshot(),
		StormSeconds:  s.stormEnd.Sub(s.killAt).Seconds(),
	}
	if s.killErr != nil {
		rep.KillError = s.killErr.Error()
	}
	if s.cfg.ReconnectDelay != ReconnectFromRetry {
		rep.ReconnectDelay = s.cfg.ReconnectDelay.String()
	}
	for _, g := range s.gws {
		rep.Gateways = append(rep.Gateways, g.u.String())
	}
	kill := s.killAt.UnixNano()
	var resumed []int64
	dropSeen, resumeTime, lag := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range r.conns {
		c := &r.conns[i]
		rep.Attempts += uint64(c.attempts)
		if c.dropAt != 0 {
			dropSeen.Record(c.dropAt - kill)
		}
		if c.resumedAt != 0 {
			resumed = append(resumed, c.resumedAt-kill)
			resumeTime.Record(c.resumedAt - c.reconnectAt)
			lag.Record(max(c.reconnectAt-c.dueAt, 0))
		}
		r.addStormLoss(rep, c)
	}
	rep.Resumed = int64(len(resumed))
	rep.Resumed99Seconds = shareReached(resumed, s.heldAtKill, 0.99)
	rep.Resumed100Seconds = shareReached(resumed, s.heldAtKill, 1)
	rep.DropSeen, rep.ResumeTime, rep.DispatchLag = summarize(dropSeen), summarize(resumeTime), summarize(lag)
	live := NewHistogram()
	for _, c := range r.allCounters() {
		live.Merge(c.stormLatency)
	}
	rep.LiveLatency = summarize(live)
	for k := range r.accepted {
		rep.PublishedSinceKill += r.accepted[k].Load()
	}
	rep.PublishedSinceKill -= min(rep.PublishedSinceKill, s.accAtKill)
	if s.statsErr != nil {
		rep.Redis = &RedisCommands{Error: s.statsErr.Error()}
	} else {
		rep.Redis = redisCommands(s.before, s.after, s.statsAfterAt.Sub(s.killAt))
	}
	return rep
}

// addStormLoss adds connection c's losses and duplicates to rep.
func (r *run) addStormLoss(rep *StormReport, c *conn) {
	if c.state != connOpen && c.state != connClosed && c.state != connReconnecting {
		return
	}
	var exp, uniq uint64
	for j := range c.topics {
		t := &c.topics[j]
		exp += t.endAcc - min(t.endAcc, t.baseAcc)
		uniq += t.unique
	}
	if exp > uniq {
		rep.Lost += exp - uniq
		rep.ClientsWithLoss++
	}
	rep.Duplicates += uint64(c.dups)
	rep.IDViolations += uint64(c.idViolation)
}

// shareReached returns the seconds after which share of n clients had
// resumed, given each resumed client's time in ns; -1 if they never did.
func shareReached(times []int64, n int64, share float64) float64 {
	need := int(math.Ceil(share * float64(n)))
	if n == 0 || need > len(times) {
		return -1
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	return time.Duration(times[max(need, 1)-1]).Seconds()
}

// writeText adds the storm's lines to a report table.
func (s *StormReport) writeText(row func(k, format string, a ...any), dur func(Durations) string) {
	secs := func(v float64) string {
		if v < 0 {
			return "never"
		}
		return fmt.Sprintf("%.2fs", v)
	}
	row("storm", "killed pid %d, %d clients → %s; reconnect delay %s, jitter %.2f", s.KilledPID, s.Clients,
		strings.Join(s.Gateways, ", "), s.ReconnectDelay, s.ReconnectJitter)
	if s.KillError != "" {
		row("  kill error", "%s", s.KillError)
	}
	row("  resumed", "%d of %d (%d gave up); 99%% after %s, 100%% after %s; phase %.2fs", s.Resumed, s.Clients,
		s.Failed, secs(s.Resumed99Seconds), secs(s.Resumed100Seconds), s.StormSeconds)
	row("  drop seen", "%s", dur(s.DropSeen))
	row("  reconnect → resumed", "%s", dur(s.ResumeTime))
	row("  due → attempt (load tool)", "%s", dur(s.DispatchLag))
	row("  attempts", "%d%s", s.Attempts, map[bool]string{true: " (failed: " + fmtReasons(s.AttemptErrors) + ")"}[len(s.AttemptErrors) > 0])
	row("  lost / duplicates", "%d (%d clients) / %d; id violations %d", s.Lost, s.ClientsWithLoss, s.Duplicates, s.IDViolations)
	row("  live latency on B", "%s", dur(s.LiveLatency))
	rc := s.Redis
	if rc == nil {
		return
	}
	if rc.Error != "" {
		row("  redis commands", "error: %s", rc.Error)
		return
	}
	row("  redis commands", "%.2fs window, %d topics, %d clients: history reads (XRANGE+XREVRANGE+XREAD) %d, reader scripts %d, publishes %d (publisher accepted %d)",
		rc.Seconds, s.Topics, s.Clients, rc.HistoryReads, rc.ReaderScripts, rc.Publishes, s.PublishedSinceKill)
	parts := make([]string, 0, len(rc.ByCommand))
	for _, name := range rc.ByCommand.names() {
		parts = append(parts, fmt.Sprintf("%s=%d", name, rc.ByCommand[name]))
	}
	row("  by command", "%s", strings.Join(parts, " "))
}
