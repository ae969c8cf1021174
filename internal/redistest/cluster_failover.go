package redistest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
)

// KillPrimary SIGKILLs primary n and waits (up to 30 s) until one of its
// replicas has been promoted: every surviving node reports cluster_state:ok
// and all of them agree that the killed node's slots are served by one
// running node, which is returned. It fails the test when n serves no
// slots or has no running replica.
func (c *Cluster) KillPrimary(t testing.TB, n *Node) *Node {
	t.Helper()
	ctx := context.Background()
	table, err := c.slotTable(ctx)
	if err != nil {
		t.Fatalf("redistest: KillPrimary: %v", err)
	}
	var owned []slotRange
	for _, sr := range table {
		if sr.primary == n.Addr() {
			owned = append(owned, sr)
		}
	}
	if len(owned) == 0 {
		t.Fatalf("redistest: KillPrimary: %s serves no slots (not a primary)", n.Addr())
	}
	// Replicas from CLUSTER NODES, which knows them before CLUSTER SLOTS does.
	view, err := clusterNodes(ctx, n.Addr())
	if err != nil {
		t.Fatalf("redistest: KillPrimary: %v", err)
	}
	var replicas []*Node
	for _, nl := range view {
		if r := c.nodeByAddr(nl.addr); nl.master == n.ID() && r != nil && r.Alive() {
			replicas = append(replicas, r)
		}
	}
	if len(replicas) == 0 {
		t.Fatalf("redistest: KillPrimary: %s has no running replica to promote", n.Addr())
	}
	// A failover test wants Redis' normal failover, not the loss of a
	// replica that has not even finished its first sync (right after
	// StartCluster it may still be loading the primary's snapshot, and a
	// promoted half-synced replica drops everything written so far). Wait
	// until every replica is linked and has caught up with the primary's
	// replication offset as of now.
	if err := c.awaitReplicasSynced(ctx, n, replicas); err != nil {
		t.Fatalf("redistest: KillPrimary: %v", err)
	}
	n.Kill(t)

	var promoted *Node
	wctx, cancel := context.WithTimeout(ctx, failoverTimeout)
	defer cancel()
	err = poll(wctx, failoverPoll, func(ctx context.Context) error {
		promoted = nil
		for _, s := range c.nodes {
			if !s.Alive() {
				continue
			}
			if err := clusterHealthy(ctx, s.Addr(), 0); err != nil {
				return err
			}
			view, err := slotsAt(ctx, s.Addr())
			if err != nil {
				return err
			}
			for _, want := range owned {
				owner := ownerOf(view, want.start)
				switch {
				case owner == "" || owner == n.Addr():
					return fmt.Errorf("%s: slot %d still served by %q", s.Addr(), want.start, owner)
				case promoted == nil:
					promoted = c.nodeByAddr(owner)
					if promoted == nil || !promoted.Alive() {
						return fmt.Errorf("%s: slot %d served by %s, which is not running", s.Addr(), want.start, owner)
					}
				case promoted.Addr() != owner:
					return fmt.Errorf("nodes disagree: slot %d served by %s and %s", want.start, promoted.Addr(), owner)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("redistest: KillPrimary %s: no promotion within %v: %v", n.Addr(), failoverTimeout, err)
	}
	return promoted
}

// ownerOf returns the primary serving slot in view, "" if none.
func ownerOf(view []slotRange, slot int) string {
	for _, sr := range view {
		if slot >= sr.start && slot <= sr.end {
			return sr.primary
		}
	}
	return ""
}

// awaitReplicasSynced waits until each replica of primary reports a live
// link, no sync in progress, and a replication offset at least the
// primary's offset when the wait began.
func (c *Cluster) awaitReplicasSynced(ctx context.Context, primary *Node, replicas []*Node) error {
	r, err := Exec(ctx, primary.Addr(), "INFO", "replication")
	if err != nil {
		return fmt.Errorf("INFO replication on %s: %w", primary.Addr(), err)
	}
	target, err := strconv.ParseInt(infoField(r.String(), "master_repl_offset"), 10, 64)
	if err != nil {
		return fmt.Errorf("master_repl_offset of %s: %w", primary.Addr(), err)
	}
	wctx, cancel := context.WithTimeout(ctx, failoverTimeout)
	defer cancel()
	return poll(wctx, failoverPoll, func(ctx context.Context) error {
		for _, rep := range replicas {
			r, err := Exec(ctx, rep.Addr(), "INFO", "replication")
			if err != nil {
				return err
			}
			info := r.String()
			off, _ := strconv.ParseInt(infoField(info, "slave_repl_offset"), 10, 64)
			if infoField(info, "master_link_status") != "up" || infoField(info, "master_sync_in_progress") != "0" || off < target {
				return fmt.Errorf("replica %s not in sync: link %s, sync %s, offset %d < %d", rep.Addr(),
					infoField(info, "master_link_status"), infoField(info, "master_sync_in_progress"), off, target)
			}
		}
		return nil
	})
}
