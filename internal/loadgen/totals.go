package loadgen

// This file sums what the goroutines counted, and freezes the connections'
// expected counts at the end of a run.

// finalize freezes the expected counts of connections still open. Call it
// after the readers have stopped.
func (r *run) finalize() {
	for i := range r.conns {
		c := &r.conns[i]
		if c.state != connOpen && c.state != connReconnecting {
			continue
		}
		for j := range c.topics {
			t := &c.topics[j]
			t.endAcc = r.accepted[t.index].Load()
		}
	}
}

// totalCounts sums the goroutine counters.
type totalCounts struct {
	events, unique, pings, other uint64
}

func (r *run) allCounters() []*counters {
	out := make([]*counters, 0, len(r.readers)+1)
	for _, rd := range r.readers {
		out = append(out, rd.stats)
	}
	return append(out, r.connStats)
}

func (r *run) totals() totalCounts {
	var t totalCounts
	for _, c := range r.allCounters() {
		t.events += c.events.Load()
		t.unique += c.unique.Load()
		t.pings += c.pings.Load()
		t.other += c.other.Load()
	}
	return t
}

// latency merges the goroutines' latency histograms into h (or a new one).
func (r *run) latency(h *Histogram) *Histogram {
	if h == nil {
		h = NewHistogram()
	} else {
		h.reset()
	}
	for _, c := range r.allCounters() {
		h.Merge(c.latency)
	}
	return h
}
