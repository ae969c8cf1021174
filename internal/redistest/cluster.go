package redistest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster timing. A node is suspected after clusterNodeTimeout without an
// answer; failover then takes about two to three node timeouts.
const (
	clusterNodeTimeout   = "1000" // ms; fast failover for tests
	clusterCreateTimeout = time.Minute
	clusterReadyTimeout  = 30 * time.Second
	failoverTimeout      = 30 * time.Second
	failoverPoll         = 50 * time.Millisecond
	clusterStartAttempts = 3
	minClusterPrimaries  = 3 // redis-cli --cluster create refuses fewer
)

// Roles as the ROLE command reports them, plus RoleDown for a node whose
// process is not running.
const (
	RolePrimary = "master"
	RoleReplica = "slave"
	RoleDown    = "down"
)

// Cluster is a Redis Cluster of redis-server child processes on loopback,
// killed in t.Cleanup. Its topology is always read live from the nodes,
// because failovers change it.
type Cluster struct {
	nodes []*Node // fixed after StartCluster; order = redis-cli create order
}

// Node is one cluster node. Its address and node ID survive Kill/Restart
// (the node keeps its nodes.conf in the test's temp dir).
type Node struct {
	proc *process
	id   string // cluster node ID, set by StartCluster before it returns
}

// StartCluster starts a Redis Cluster of primaries primaries (at least 3)
// with replicas replicas each, from redis-server binaries, built with
// `redis-cli --cluster create`. It returns once every node reports
// cluster_state:ok with all 16384 slots covered and every replica's link
// to its primary is up. Node ports are in [20000, 45000) so that the bus
// port (port+10000) is valid. Without the binaries the test is skipped, or
// failed when REQUIRE_REDIS=1. Nodes use a 1 s cluster-node-timeout and
// always-eligible replicas so failover tests finish in a few seconds.
func StartCluster(t testing.TB, primaries, replicas int) *Cluster {
	t.Helper()
	if primaries < minClusterPrimaries || replicas < 0 {
		t.Fatalf("redistest: StartCluster(%d, %d): need at least %d primaries and >= 0 replicas", primaries, replicas, minClusterPrimaries)
	}
	env := systemEnvironment()
	serverBin, ok := env.findBin("redis-server", fallbackServerBin)
	if !ok {
		unavailable(t, "no redis-server binary for a cluster")
	}
	cliBin, ok := env.findBin("redis-cli", fallbackCLIBin)
	if !ok {
		unavailable(t, "no redis-cli binary to create a cluster")
	}

	dir := t.TempDir() // registered first, so removed after the nodes are killed
	c := &Cluster{}
	var all []*Node // every node ever started, including failed attempts
	t.Cleanup(func() {
		for _, n := range all {
			if err := n.proc.kill(); err != nil {
				t.Errorf("redistest: cleanup: %v", err)
			}
		}
	})
	logOnFailure(t, func() []string {
		paths := make([]string, 0, len(all))
		for _, n := range all {
			paths = append(paths, n.proc.logPath)
		}
		return paths
	})

	total := primaries * (1 + replicas)
	var lastErr error
	for range clusterStartAttempts {
		nodes, err := startClusterNodes(serverBin, dir, total, &all)
		if err == nil {
			c.nodes = nodes
			break
		}
		lastErr = err
		for _, n := range nodes {
			_ = n.proc.kill()
		}
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	if c.nodes == nil {
		t.Fatalf("redistest: start cluster nodes: %v", lastErr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterCreateTimeout)
	defer cancel()
	args := []string{"--cluster", "create"}
	for _, n := range c.nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	// On a starved machine a node's join handshake can time out and
	// redis-cli never repeats CLUSTER MEET, waiting for the join forever.
	// Repeating the MEET from node 0 is harmless once the nodes know each
	// other; it starts only after redis-cli has long checked they are empty.
	meetCtx, stopMeet := context.WithCancel(ctx)
	meetDone := make(chan struct{})
	go func() {
		defer close(meetDone)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-meetCtx.Done():
				return
			case <-tick.C:
				for _, n := range c.nodes[1:] {
					host, port, err := net.SplitHostPort(n.Addr())
					if err == nil {
						_, _ = Exec(meetCtx, c.nodes[0].Addr(), "CLUSTER", "MEET", host, port)
					}
				}
			}
		}
	}()
	out, err := exec.CommandContext(ctx, cliBin, args...).CombinedOutput()
	stopMeet()
	<-meetDone
	if err != nil {
		t.Fatalf("redistest: %s %s: %v\n%s", cliBin, strings.Join(args, " "), err, out)
	}
	if err := c.waitReady(ctx, replicas); err != nil {
		t.Fatalf("redistest: cluster did not become ready: %v\nredis-cli output:\n%s", err, out)
	}
	for _, n := range c.nodes {
		r, err := Exec(ctx, n.Addr(), "CLUSTER", "MYID")
		if err != nil {
			t.Fatalf("redistest: CLUSTER MYID on %s: %v", n.Addr(), err)
		}
		n.id = r.Str
	}
	return c
}

// startClusterNodes starts total cluster-enabled nodes on fresh port
// pairs and waits until each answers. Started nodes are appended to *all
// (for cleanup) and returned even on error so the caller can kill them.
func startClusterNodes(bin, dir string, total int, all *[]*Node) ([]*Node, error) {
	ports, err := freeClusterPorts(total)
	if err != nil {
		return nil, err
	}
	nodes := make([]*Node, 0, total)
	for _, port := range ports {
		// Each node gets its own data dir: a replica stores the RDB of a
		// full sync as dump.rdb there, and a restarted node loads it.
		nodeDir := filepath.Join(dir, strconv.Itoa(port))
		if err := os.MkdirAll(nodeDir, 0o700); err != nil {
			return nodes, fmt.Errorf("node dir: %w", err)
		}
		n := &Node{proc: newProcess(bin, port, nodeDir, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port)),
			"--cluster-node-timeout", clusterNodeTimeout,
			// Always let a replica run for election, however long its link
			// was down: tests kill primaries right after creation.
			"--cluster-replica-validity-factor", "0",
			// Full syncs start at once instead of waiting 5 s for more replicas.
			"--repl-diskless-sync-delay", "0",
		})}
		*all = append(*all, n)
		nodes = append(nodes, n)
		if err := n.proc.start(context.Background()); err != nil {
			return nodes, err
		}
	}
	return nodes, nil
}

// waitReady polls until every node says cluster_state:ok, knows every
// node and covers all slots, every replica's link is up, and all nodes
// agree on the topology (CLUSTER NODES: who replicates whom, no failure
// flags, replicas replicas per primary; CLUSTER SLOTS: who serves which
// slots). Gossip spreads "X replicates Y" a moment after the replica
// itself knows, and failover and KillPrimary rely on the agreed view.
func (c *Cluster) waitReady(ctx context.Context, replicas int) error {
	ctx, cancel := context.WithTimeout(ctx, clusterReadyTimeout)
	defer cancel()
	return poll(ctx, failoverPoll, func(ctx context.Context) error {
		var firstNodes map[string]string
		var firstSlots []slotRange
		for _, n := range c.nodes {
			if err := clusterHealthy(ctx, n.Addr(), len(c.nodes)); err != nil {
				return err
			}
			role, err := Exec(ctx, n.Addr(), "ROLE")
			if err != nil {
				return err
			}
			// ROLE on a replica: [slave, host, port, state, offset].
			if s := role.Strings(); s[0] == RoleReplica && (len(s) < 4 || s[3] != "connected") {
				return fmt.Errorf("replica %s: not yet connected to its primary: ROLE %v", n.Addr(), s)
			}
			view, err := clusterNodes(ctx, n.Addr())
			if err != nil {
				return err
			}
			topo, err := checkTopology(view, replicas)
			if err != nil {
				return fmt.Errorf("%s: %w", n.Addr(), err)
			}
			r, err := Exec(ctx, n.Addr(), "CLUSTER", "SLOTS")
			if err != nil {
				return err
			}
			slots, err := parseSlots(r)
			if err != nil {
				return err
			}
			if firstNodes == nil {
				firstNodes, firstSlots = topo, slots
				continue
			}
			if !maps.Equal(firstNodes, topo) {
				return fmt.Errorf("nodes disagree on CLUSTER NODES: %s says %v, %s says %v", c.nodes[0].Addr(), firstNodes, n.Addr(), topo)
			}
			if !slices.EqualFunc(firstSlots, slots, samePrimary) {
				return fmt.Errorf("nodes disagree on CLUSTER SLOTS: %s says %v, %s says %v", c.nodes[0].Addr(), firstSlots, n.Addr(), slots)
			}
		}
		return nil
	})
}

// samePrimary compares two CLUSTER SLOTS entries by range and primary.
// Replicas are left out: Redis 7.0 lists a replica there only once the
// primary has linked it, which can lag CLUSTER NODES by seconds.
func samePrimary(a, b slotRange) bool {
	return a.start == b.start && a.end == b.end && a.primary == b.primary
}

// nodeLine is one line of CLUSTER NODES.
type nodeLine struct {
	id, addr string
	flags    []string
	master   string // primary's node ID, "-" for a primary
	link     string // "connected" or "disconnected"
	slots    []string
}

// clusterNodes reads and parses CLUSTER NODES from addr.
func clusterNodes(ctx context.Context, addr string) ([]nodeLine, error) {
	r, err := Exec(ctx, addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	var out []nodeLine
	for line := range strings.SplitSeq(strings.TrimSpace(r.Str), "\n") {
		// <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent>
		// <pong-recv> <config-epoch> <link-state> <slot> <slot> ...
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("%s: bad CLUSTER NODES line %q", addr, line)
		}
		a, _, _ := strings.Cut(f[1], "@")
		out = append(out, nodeLine{
			id: f[0], addr: a, flags: strings.Split(f[2], ","),
			master: f[3], link: f[7], slots: f[8:],
		})
	}
	return out, nil
}

// checkTopology verifies one node's CLUSTER NODES view of a healthy
// cluster and returns it as node ID → role summary for comparison.
func checkTopology(view []nodeLine, replicas int) (map[string]string, error) {
	topo := make(map[string]string, len(view))
	perPrimary := map[string]int{}
	for _, nl := range view {
		for _, bad := range []string{"fail", "fail?", "handshake", "noaddr"} {
			if slices.Contains(nl.flags, bad) {
				return nil, fmt.Errorf("node %s flagged %v", nl.addr, nl.flags)
			}
		}
		if nl.link != "connected" && !slices.Contains(nl.flags, "myself") {
			return nil, fmt.Errorf("node %s link %s", nl.addr, nl.link)
		}
		switch {
		case slices.Contains(nl.flags, "slave"):
			topo[nl.id] = "replica of " + nl.master
			perPrimary[nl.master]++
		case len(nl.slots) > 0:
			topo[nl.id] = "primary " + strings.Join(nl.slots, " ")
			perPrimary[nl.id] += 0
		default:
			return nil, fmt.Errorf("node %s is a primary without slots", nl.addr)
		}
	}
	for id, n := range perPrimary {
		if n != replicas {
			return nil, fmt.Errorf("primary %s has %d replicas, want %d", id, n, replicas)
		}
	}
	return topo, nil
}

// clusterHealthy checks one node's CLUSTER INFO: state ok, all slots
// served, and (when knownNodes > 0) that many nodes known.
func clusterHealthy(ctx context.Context, addr string, knownNodes int) error {
	r, err := Exec(ctx, addr, "CLUSTER", "INFO")
	if err != nil {
		return err
	}
	if v := infoField(r.Str, "cluster_state"); v != "ok" {
		return fmt.Errorf("%s: cluster_state:%s", addr, v)
	}
	if v := infoField(r.Str, "cluster_slots_ok"); v != strconv.Itoa(SlotCount) {
		return fmt.Errorf("%s: cluster_slots_ok:%s", addr, v)
	}
	if knownNodes > 0 {
		if v := infoField(r.Str, "cluster_known_nodes"); v != strconv.Itoa(knownNodes) {
			return fmt.Errorf("%s: cluster_known_nodes:%s, want %d", addr, v, knownNodes)
		}
	}
	return nil
}

// poll calls check every interval until it returns nil or ctx ends; the
// error then includes check's last complaint.
func poll(ctx context.Context, interval time.Duration, check func(context.Context) error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err := check(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last: %w", ctx.Err(), err)
		case <-tick.C:
		}
	}
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

// URL returns all node addresses in rueidis' URL convention,
// "redis://127.0.0.1:p1?addr=127.0.0.1:p2&addr=...", the form
// SSEGATE_REDIS_URL takes for a cluster.
func (c *Cluster) URL() string {
	var b strings.Builder
	b.WriteString("redis://")
	for i, n := range c.nodes {
		switch i {
		case 0:
		case 1:
			b.WriteString("?addr=")
		default:
			b.WriteString("&addr=")
		}
		b.WriteString(n.Addr())
	}
	return b.String()
}

// Addrs returns every node's "127.0.0.1:PORT", e.g. for
// rueidis.ClientOption.InitAddress.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr()
	}
	return out
}

// Nodes returns every node (primaries and replicas, alive or killed) in
// creation order. Roles change on failover: ask Node.Role.
func (c *Cluster) Nodes() []*Node { return slices.Clone(c.nodes) }

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
		r, err := Exec(ctx, n.Addr(), "CLUSTER", "SLOTS")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return parseSlots(r)
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
			r, err := Exec(ctx, s.Addr(), "CLUSTER", "SLOTS")
			if err != nil {
				return err
			}
			view, err := parseSlots(r)
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

// Addr returns the node's "127.0.0.1:PORT".
func (n *Node) Addr() string { return n.proc.addr() }

// ID returns the node's cluster node ID (stable across Kill/Restart).
func (n *Node) ID() string { return n.id }

// Alive reports whether the node's process is running.
func (n *Node) Alive() bool { return n.proc.running() }

// Role asks the node for its role now (RolePrimary or RoleReplica), or
// returns RoleDown when its process is not running.
func (n *Node) Role(t testing.TB) string {
	t.Helper()
	if !n.Alive() {
		return RoleDown
	}
	s := do(t, n.Addr(), []string{"ROLE"}).Strings()
	return s[0]
}

// Kill SIGKILLs the node (no failover wait; see Cluster.KillPrimary) and
// returns once its port refuses connections.
func (n *Node) Kill(t testing.TB) {
	t.Helper()
	if err := n.proc.kill(); err != nil {
		t.Fatalf("redistest: Kill %s: %v", n.Addr(), err)
	}
	if err := waitRefused(context.Background(), n.Addr()); err != nil {
		t.Fatalf("redistest: Kill %s: %v", n.Addr(), err)
	}
}

// Restart starts a killed node again on the same port with its nodes.conf,
// so it rejoins the cluster (a former primary comes back as a replica of
// its promoted replica). It returns once the node answers PING; it does
// not wait for the cluster to converge.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	if err := n.proc.kill(); err != nil {
		t.Fatalf("redistest: Restart %s: %v", n.Addr(), err)
	}
	if err := n.proc.start(context.Background()); err != nil {
		t.Fatalf("redistest: Restart %s: %v", n.Addr(), err)
	}
}

// Exec runs one command on this node over a short-lived connection; see
// the package-level Exec. It does not follow MOVED redirections.
func (n *Node) Exec(ctx context.Context, args ...string) (Reply, error) {
	return Exec(ctx, n.Addr(), args...)
}

// Do runs one command on this node and returns the reply as text, failing
// the test on any error (a MOVED reply included); see Server.Do.
func (n *Node) Do(t testing.TB, args ...string) string {
	t.Helper()
	return do(t, n.Addr(), args).String()
}

// DoSlice is Do returning the flattened elements of an array reply.
func (n *Node) DoSlice(t testing.TB, args ...string) []string {
	t.Helper()
	return do(t, n.Addr(), args).Strings()
}
