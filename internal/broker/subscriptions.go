package broker

import "time"

// Subscriptions is what a broker tells about its subscription connections,
// for the gateway's status page: read-only bookkeeping, taken in one step.
type Subscriptions struct {
	// Mode is how the broker is deployed: "memory" (in-process), or for
	// Redis "single" (a server or a Sentinel primary), "cluster" (classic
	// pub/sub) or "sharded" (sharded pub/sub); "" before Redis answered.
	Mode string
	// Nodes are the subscription connections, one per node, by address.
	Nodes []NodeState
}

// Node states of NodeState.State.
const (
	NodeUp         = "up"         // connected and answering
	NodeConnecting = "connecting" // (re)connecting or not yet answering
	NodeStopping   = "stopping"   // being closed: routing no longer needs it
	NodeDown       = "down"       // needed, waiting to connect again
)

// NodeState is one subscription connection.
type NodeState struct {
	Addr   string    // host:port (comma-separated seeds on a non-cluster), never credentials
	State  string    // one of the Node* constants
	Since  time.Time // when State began; zero when unknown
	Topics int       // topics routed to this connection
}
