package statebench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as the lines docs/benchmarks.md quotes.
func (r *Report) WriteText(w io.Writer) error {
	c, s := r.Config, r.State
	var b strings.Builder
	fmt.Fprintf(&b, "seed           %d keyed events on %s in %v\n", c.Keys, c.Topic, r.Seed.Round(time.Millisecond))
	fmt.Fprintf(&b, "state          %d clients with state=1 at once: %d complete, %d failed\n", s.Clients, s.Complete, s.Failed)
	if s.FirstError != "" {
		fmt.Fprintf(&b, "               e.g. %s\n", s.FirstError)
	}
	if s.AllComplete > 0 {
		fmt.Fprintf(&b, "all complete   %v after the release (every client had %d events and the marker)\n", ms(s.AllComplete), c.Keys)
	}
	fmt.Fprintf(&b, "per client     headers p50 %v p99 %v; marker p50 %v p99 %v\n",
		ms(s.HeadersP50), ms(s.HeadersP99), ms(s.MarkerP50), ms(s.MarkerP99))
	fmt.Fprintf(&b, "received       %d events, %.1f MiB before the markers\n", s.Events, float64(s.Bytes)/(1<<20))
	if r.Commands != nil {
		fmt.Fprintf(&b, "redis          %d commands during the connect phase: %s\n", total(r.Commands), breakdown(r.Commands))
		if r.Idle != nil {
			fmt.Fprintf(&b, "redis idle     %d commands in the %v before (no client): %s\n", total(r.Idle), c.Baseline, breakdown(r.Idle))
		}
	}
	for _, m := range r.Publish {
		if c.Phases == 0 {
			break
		}
		what := "without key"
		if m.Keyed {
			what = "with key   "
		}
		fmt.Fprintf(&b, "publish %s %.0f/s (%d in %v, %d failed), p50 %v p99 %v max %v\n", what, m.PerSecond,
			m.Published, m.Elapsed.Round(time.Millisecond), m.Failed, ms(m.P50), ms(m.P99), ms(m.Max))
		if m.FirstError != "" {
			fmt.Fprintf(&b, "               e.g. %s\n", m.FirstError)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ms rounds d for reading: 0.01 ms below a second, 1 ms above.
func ms(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// breakdown lists commands by count, largest first: "evalsha 3, xrange 2".
func breakdown(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
