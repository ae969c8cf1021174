package redistest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// slotRange is one line of CLUSTER SLOTS: a range and who serves it.
type slotRange struct {
	start, end int
	primary    string   // addr
	replicas   []string // addrs
}

// slotTable reads CLUSTER SLOTS from the first running node that answers.
func (c *Cluster) slotTable(ctx context.Context) ([]slotRange, error) {
	var errs []error
	for _, n := range c.nodes {
		if !n.Alive() {
			continue
		}
		slots, err := slotsAt(ctx, n.Addr())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return slots, nil
	}
	return nil, fmt.Errorf("no running node answered CLUSTER SLOTS: %w", errors.Join(errs...))
}

// parseSlots decodes CLUSTER SLOTS: [[start, end, [ip, port, id, ...],
// replica..., ], ...].
func parseSlots(r Reply) ([]slotRange, error) {
	if r.Kind != KindArray {
		return nil, fmt.Errorf("CLUSTER SLOTS: not an array: %v", r)
	}
	out := make([]slotRange, 0, len(r.Elems))
	for _, e := range r.Elems {
		if e.Kind != KindArray || len(e.Elems) < 3 {
			return nil, fmt.Errorf("CLUSTER SLOTS: bad entry %v", e)
		}
		sr := slotRange{start: int(e.Elems[0].Int), end: int(e.Elems[1].Int)}
		for i, ep := range e.Elems[2:] {
			if ep.Kind != KindArray || len(ep.Elems) < 2 {
				return nil, fmt.Errorf("CLUSTER SLOTS: bad endpoint %v", ep)
			}
			host := ep.Elems[0].Str
			if host == "" {
				host = loopbackHost
			}
			addr := host + ":" + ep.Elems[1].Str
			if i == 0 {
				sr.primary = addr
			} else {
				sr.replicas = append(sr.replicas, addr)
			}
		}
		out = append(out, sr)
	}
	slices.SortFunc(out, func(a, b slotRange) int { return a.start - b.start })
	return out, nil
}

// nodeByAddr finds a node by "127.0.0.1:PORT".
func (c *Cluster) nodeByAddr(addr string) *Node {
	for _, n := range c.nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// PrimaryForSlot returns the node that serves slot now, from a live
// CLUSTER SLOTS.
func (c *Cluster) PrimaryForSlot(t testing.TB, slot int) *Node {
	t.Helper()
	if slot < 0 || slot >= SlotCount {
		t.Fatalf("redistest: PrimaryForSlot(%d): slot out of range", slot)
	}
	table, err := c.slotTable(context.Background())
	if err != nil {
		t.Fatalf("redistest: PrimaryForSlot: %v", err)
	}
	for _, sr := range table {
		if slot >= sr.start && slot <= sr.end {
			if n := c.nodeByAddr(sr.primary); n != nil {
				return n
			}
			t.Fatalf("redistest: PrimaryForSlot(%d): served by unknown node %s", slot, sr.primary)
		}
	}
	t.Fatalf("redistest: PrimaryForSlot(%d): slot not served", slot)
	return nil
}

// Primaries returns the nodes serving slots now, ordered by their first
// slot, from a live CLUSTER SLOTS.
func (c *Cluster) Primaries(t testing.TB) []*Node {
	t.Helper()
	table, err := c.slotTable(context.Background())
	if err != nil {
		t.Fatalf("redistest: Primaries: %v", err)
	}
	var out []*Node
	for _, sr := range table {
		n := c.nodeByAddr(sr.primary)
		if n == nil {
			t.Fatalf("redistest: Primaries: slots %d-%d served by unknown node %s", sr.start, sr.end, sr.primary)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// slotsAt asks the node at addr for its view of the slot table.
func slotsAt(ctx context.Context, addr string) ([]slotRange, error) {
	r, err := Exec(ctx, addr, "CLUSTER", "SLOTS")
	if err != nil {
		return nil, err
	}
	return parseSlots(r)
}
