package loadgen

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as a human-readable table.
func (rep *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	dur := func(d Durations) string {
		return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
			fmtMs(d.P50Ms), fmtMs(d.P90Ms), fmtMs(d.P99Ms), fmtMs(d.P999Ms), fmtMs(d.MaxMs), d.Count)
	}
	c := rep.Connections
	row("mode", "%s%s", rep.Mode, map[bool]string{true: " (interrupted)"}[rep.Interrupted])
	row("gateways", "%s", strings.Join(rep.Gateways, ", "))
	row("topics", "%d (%d per connection)", rep.Topics, rep.TopicsPerConn)
	row("connections", "%d requested, %d held after connect, %d held at end, %d failed, %d dropped",
		c.Requested, c.HeldAfterConnect, c.HeldAtEnd, c.Failed, c.Dropped)
	if len(c.FailReasons) > 0 {
		row("  failures", "%s", fmtReasons(c.FailReasons))
	}
	if len(c.DropReasons) > 0 {
		row("  drops", "%s", fmtReasons(c.DropReasons))
	}
	row("connect time", "p50 %s  p99 %s  max %s  (phase %.2fs)",
		fmtMs(c.ConnectTime.P50Ms), fmtMs(c.ConnectTime.P99Ms), fmtMs(c.ConnectTime.MaxMs), c.ConnectSeconds)
	row("keepalive pings", "%d", c.Pings)
	if p := rep.Publish; p != nil {
		row("publish", "via %s, target %.0f/s, achieved %.0f/s over %.2fs steady", p.Via, p.TargetRate, p.AchievedRate, p.SteadySeconds)
		row("  published", "%d attempted, %d accepted, %d failed, %d not sent (publishers behind)", p.Attempted, p.Accepted, p.Failed, p.NotSent)
		if len(p.ErrorReasons) > 0 {
			row("  errors", "%s", fmtReasons(p.ErrorReasons))
		}
		row("  request time", "%s", dur(p.RequestTime))
	}
	if d := rep.Delivery; d != nil {
		row("expected deliveries", "%d", d.Expected)
		row("delivered", "%d  (%.0f/s steady; %d received incl. duplicates)", d.Delivered, d.PerSecond, d.Received)
		row("missing (gaps)", "%d", d.Missing)
		row("duplicates", "%d", d.Duplicates)
		row("unexpected", "%d", d.Unexpected)
		row("seq gaps", "%d (includes failed publishes)", d.SeqGaps)
		row("reordered / late", "%d / %d", d.Reordered, d.Late)
		row("id violations", "%d", d.IDViolations)
		row("other events", "%d", d.OtherEvents)
	}
	if l := rep.Latency; l != nil {
		row("latency pub→recv", "%s", dur(*l))
	}
	if rep.Storm != nil {
		rep.Storm.writeText(row, dur)
	}
	procs := append([]ProcReport{}, rep.Processes...)
	sort.SliceStable(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	for _, p := range append(procs, rep.Self) {
		name := fmt.Sprintf("pid %d", p.PID)
		if p.PID == 0 {
			name = "ssebench itself"
		}
		if p.Error != "" {
			row(name, "error: %s", p.Error)
			continue
		}
		row(name, "RSS %s → %s → %s; %.2f KB/conn (%.2f at end); CPU %.2fs, %.2f µs/event",
			fmtKB(p.Before.RSSKB), fmtKB(p.Connected.RSSKB), fmtKB(p.End.RSSKB),
			p.RSSPerConnKB, p.RSSPerConnEndKB, p.CPUSeconds, p.CPUMicrosPerEvent)
	}
	if m := rep.Metrics; m != nil {
		if m.Error != "" {
			row("metrics", "error: %s", m.Error)
		} else {
			row("metrics", "gateway connections %.0f → %.0f → %.0f; events delivered +%.0f",
				m.Before.Connections, m.Connected.Connections, m.End.Connections, m.DeliveredDelta)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func fmtMs(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	case ms >= 1:
		return fmt.Sprintf("%.2fms", ms)
	default:
		return fmt.Sprintf("%.0fµs", ms*1000)
	}
}

func fmtKB(kb int64) string {
	if kb >= 10*1024 {
		return fmt.Sprintf("%.1fMB", float64(kb)/1024)
	}
	return fmt.Sprintf("%dKB", kb)
}

func fmtReasons(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
