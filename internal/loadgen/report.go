package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Durations summarises a Histogram of nanosecond samples, in milliseconds.
type Durations struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func summarize(h *Histogram) Durations {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Durations{
		Count:  h.Count(),
		MeanMs: h.Mean() / 1e6,
		P50Ms:  ms(h.Quantile(0.50)),
		P90Ms:  ms(h.Quantile(0.90)),
		P99Ms:  ms(h.Quantile(0.99)),
		P999Ms: ms(h.Quantile(0.999)),
		MaxMs:  ms(h.Max()),
	}
}

// ConnReport describes the connections.
type ConnReport struct {
	// Requested is Config.Conns.
	Requested int `json:"requested"`
	// HeldAfterConnect is how many streams were open when the connect phase
	// ended.
	HeldAfterConnect int `json:"held_after_connect"`
	// HeldAtEnd is how many were still open when the run ended.
	HeldAtEnd int `json:"held_at_end"`
	// Failed connections never got a 200 event stream.
	Failed int `json:"failed"`
	// FailReasons counts failures by reason (dial, timeout, http_503, …).
	FailReasons map[string]int64 `json:"fail_reasons,omitempty"`
	// Dropped streams ended during the run.
	Dropped int `json:"dropped"`
	// DropReasons counts drops by reason (eof, read_error, protocol_error).
	DropReasons map[string]int64 `json:"drop_reasons,omitempty"`
	// ConnectSeconds is the length of the connect phase.
	ConnectSeconds float64 `json:"connect_seconds"`
	// ConnectTime is dial → response headers, per connection.
	ConnectTime Durations `json:"connect_time"`
	// Pings counts keepalive comments received.
	Pings uint64 `json:"pings"`
}

// PublishReport describes the publishing side.
type PublishReport struct {
	// Via is "http" or "redis".
	Via string `json:"via"`
	// TargetRate is Config.Rate.
	TargetRate float64 `json:"target_rate"`
	// AchievedRate is attempted publishes per second (warmup + steady).
	AchievedRate float64 `json:"achieved_rate"`
	// SteadySeconds is the measured length of the steady phase.
	SteadySeconds float64 `json:"steady_seconds"`
	// Attempted publishes were sent; Accepted got a 2xx (or Redis OK);
	// Failed did not.
	Attempted uint64 `json:"attempted"`
	Accepted  uint64 `json:"accepted"`
	Failed    uint64 `json:"failed"`
	// NotSent events were due but dropped because the publishers were
	// behind (raise -publishers) or the run was interrupted.
	NotSent uint64 `json:"not_sent"`
	// ErrorReasons counts failures by reason.
	ErrorReasons map[string]int64 `json:"error_reasons,omitempty"`
	// RequestTime is the publish round trip (per request, or per pipeline
	// for Redis).
	RequestTime Durations `json:"request_time"`
}

// DeliveryReport compares what arrived with what should have.
type DeliveryReport struct {
	// Expected is Σ over connections of the events accepted on their topics
	// while they were held.
	Expected uint64 `json:"expected"`
	// Delivered counts distinct events received (duplicates excluded).
	Delivered uint64 `json:"delivered"`
	// Received counts every benchmark event received.
	Received uint64 `json:"received"`
	// Missing is Σ max(0, expected − delivered) per connection: the gaps.
	Missing uint64 `json:"missing"`
	// Duplicates are events received twice on one connection.
	Duplicates uint64 `json:"duplicates"`
	// Unexpected is Σ max(0, delivered − expected) per connection (for
	// instance publishes that timed out but were accepted).
	Unexpected uint64 `json:"unexpected"`
	// SeqGaps counts sequence numbers skipped on a connection; unlike
	// Missing it includes publishes that failed.
	SeqGaps uint64 `json:"seq_gaps"`
	// Reordered events arrived after a higher sequence number of their topic.
	Reordered uint64 `json:"reordered"`
	// Late events arrived more than 64 sequence numbers late (assumed new).
	Late uint64 `json:"late"`
	// IDViolations counts `id:` values that were malformed or not strictly
	// increasing.
	IDViolations uint64 `json:"id_violations"`
	// OtherEvents are events that are not benchmark events (reset, …).
	OtherEvents uint64 `json:"other_events"`
	// PerSecond is events received per second during the steady phase.
	PerSecond float64 `json:"per_second"`
}

// ProcReport is one process's memory and CPU over the run.
type ProcReport struct {
	// PID is the process id (0: ssebench itself).
	PID int `json:"pid"`
	// Before, Connected and End are samples before connecting, after the
	// connect phase and after the drain (or the idle hold).
	Before    ProcSample `json:"before"`
	Connected ProcSample `json:"connected"`
	End       ProcSample `json:"end"`
	// RSSPerConnKB is (Connected − Before) RSS per held connection.
	RSSPerConnKB float64 `json:"rss_per_conn_kb"`
	// RSSPerConnEndKB is (End − Before) RSS per connection held at the end.
	RSSPerConnEndKB float64 `json:"rss_per_conn_end_kb"`
	// CPUSeconds is user+system CPU from Connected to End.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUMicrosPerEvent is CPUSeconds per received event, in µs.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	// Error is set when /proc could not be read.
	Error string `json:"error,omitempty"`
}

// MetricsReport holds the gateways' own view from /metrics.
type MetricsReport struct {
	Before    MetricsSample `json:"before"`
	Connected MetricsSample `json:"connected"`
	End       MetricsSample `json:"end"`
	// DeliveredDelta is events_delivered_total End − Connected.
	DeliveredDelta float64 `json:"delivered_delta"`
	Error          string  `json:"error,omitempty"`
}

// Report is the result of a Run.
type Report struct {
	Mode          Mode     `json:"mode"`
	Gateways      []string `json:"gateways"`
	Topics        int      `json:"topics"`
	TopicsPerConn int      `json:"topics_per_conn"`
	// Interrupted is set when the run's context was cancelled.
	Interrupted bool            `json:"interrupted"`
	Connections ConnReport      `json:"connections"`
	Publish     *PublishReport  `json:"publish,omitempty"`
	Delivery    *DeliveryReport `json:"delivery,omitempty"`
	// Latency is publish (sent_unix_nano) → receive, steady phase only.
	Latency   *Durations     `json:"latency,omitempty"`
	Processes []ProcReport   `json:"processes,omitempty"`
	Self      ProcReport     `json:"self"`
	Metrics   *MetricsReport `json:"metrics,omitempty"`
	// Storm is set in ModeStorm.
	Storm *StormReport `json:"storm,omitempty"`
}

func procReport(pid int, b, c, e ProcSample, errs []error, held, heldEnd int, events uint64) ProcReport {
	p := ProcReport{PID: pid, Before: b, Connected: c, End: e}
	for _, err := range errs {
		if err != nil {
			p.Error = err.Error()
			return p
		}
	}
	if held > 0 {
		p.RSSPerConnKB = float64(c.RSSKB-b.RSSKB) / float64(held)
	}
	if heldEnd > 0 {
		p.RSSPerConnEndKB = float64(e.RSSKB-b.RSSKB) / float64(heldEnd)
	}
	p.CPUSeconds = float64(e.CPUTicks-c.CPUTicks) / clockTicks
	if events > 0 {
		p.CPUMicrosPerEvent = p.CPUSeconds * 1e6 / float64(events)
	}
	return p
}

// report assembles the Report after finalize.
func (r *run) report(_ context.Context, before, connected, end samples) *Report {
	cfg := &r.cfg
	rep := &Report{Mode: cfg.Mode, Topics: cfg.Topics, TopicsPerConn: cfg.TopicsPerConn}
	for _, g := range r.gws {
		rep.Gateways = append(rep.Gateways, g.u.String())
	}
	tot := r.totals()
	held := int(r.held.Load())
	rep.Connections = ConnReport{
		Requested:   cfg.Conns,
		HeldAtEnd:   held,
		Failed:      int(r.failed.Load()),
		FailReasons: r.connectErrs.snapshot(),
		Dropped:     int(r.dropped.Load()),
		ConnectTime: summarize(r.connectHist),
		Pings:       tot.pings,
	}
	d := &DeliveryReport{Received: tot.events, OtherEvents: tot.other}
	drops := map[string]int64{}
	heldAtConnect := 0
	for i := range r.conns {
		c := &r.conns[i]
		if c.state != connOpen && c.state != connClosed && c.state != connReconnecting {
			continue
		}
		heldAtConnect++
		if c.state == connClosed {
			drops[dropNames[c.dropReason]]++
		}
		var exp, uniq uint64
		for j := range c.topics {
			t := &c.topics[j]
			exp += t.endAcc - min(t.endAcc, t.baseAcc)
			uniq += t.unique
			d.SeqGaps += t.seqGaps()
		}
		d.Expected += exp
		d.Delivered += uniq
		if exp > uniq {
			d.Missing += exp - uniq
		} else {
			d.Unexpected += uniq - exp
		}
		d.Duplicates += uint64(c.dups)
		d.Reordered += uint64(c.reordered)
		d.Late += uint64(c.late)
		d.IDViolations += uint64(c.idViolation)
	}
	if len(drops) > 0 {
		rep.Connections.DropReasons = drops
	}
	if cfg.Mode.publishes() {
		rep.Delivery = d
		lat := summarize(r.latency(nil))
		rep.Latency = &lat
		p := r.pub
		rep.Publish = &PublishReport{
			Via:          "http",
			TargetRate:   cfg.Rate,
			Attempted:    p.attempted.Load(),
			Accepted:     p.ok.Load(),
			Failed:       p.failed.Load(),
			NotSent:      p.notSent.Load(),
			ErrorReasons: p.errs.snapshot(),
			RequestTime:  summarize(p.latency),
		}
		if p.redis != nil {
			rep.Publish.Via = "redis"
		}
	}
	for i, pid := range cfg.PIDs {
		rep.Processes = append(rep.Processes, procReport(pid, before.procs[i], connected.procs[i], end.procs[i],
			[]error{before.procErr[i], connected.procErr[i], end.procErr[i]}, heldAtConnect, held, tot.events))
	}
	rep.Self = procReport(0, before.self, connected.self, end.self, nil, heldAtConnect, held, tot.events)
	if len(cfg.MetricsURLs) > 0 {
		m := &MetricsReport{Before: before.metrics, Connected: connected.metrics, End: end.metrics,
			DeliveredDelta: end.metrics.Delivered - connected.metrics.Delivered}
		for _, err := range []error{before.metErr, connected.metErr, end.metErr} {
			if err != nil {
				m.Error = err.Error()
				break
			}
		}
		rep.Metrics = m
	}
	return rep
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// progress writes a status line every ProgressInterval until stop closes.
func (r *run) progress(stop <-chan struct{}) {
	t := time.NewTicker(r.cfg.ProgressInterval)
	defer t.Stop()
	h := NewHistogram()
	var prevEvents uint64
	prev := time.Now()
	for {
		select {
		case <-stop:
			if r.cfg.ProgressTTY {
				fmt.Fprintln(r.cfg.Progress)
			}
			return
		case now := <-t.C:
			tot := r.totals()
			rate := float64(tot.events-prevEvents) / now.Sub(prev).Seconds()
			prevEvents, prev = tot.events, now
			r.latency(h)
			published := uint64(0)
			if r.pub != nil {
				published = r.pub.attempted.Load()
			}
			prefix, suffix := "", "\n"
			if r.cfg.ProgressTTY {
				prefix, suffix = "\r\033[K", ""
			}
			fmt.Fprintf(r.cfg.Progress, "%s[%6.1fs] %-7s conns %d/%d (failed %d, dropped %d) | published %d | delivered %.0f/s | p99 %s%s",
				prefix, now.Sub(r.start).Seconds(), phaseNames[r.phase.Load()],
				r.held.Load(), r.cfg.Conns, r.failed.Load(), r.dropped.Load(),
				published, rate, fmtMs(float64(h.Quantile(0.99))/1e6), suffix)
		}
	}
}
