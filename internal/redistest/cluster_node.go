package redistest

import (
	"context"
	"testing"
)

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
