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
			slots, err := slotsAt(ctx, n.Addr())
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
