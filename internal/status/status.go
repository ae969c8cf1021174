// Package status defines the gateway's status document: what one gateway
// process reports about itself on its status page (GET /status.json, and
// pushed as the data of every event of /status/stream). The gateway fills
// it; the operator CLI (ssegatectl status) decodes it. Both sides share
// this one type, so the wire form cannot drift between them.
//
// The document describes one process, not the deployment: connections,
// topics and counters are this gateway's own. Counters are totals since the
// process started; RatePerSecond is measured by the gateway over a recent
// window (Report.RateWindowSeconds).
//
// Nothing secret is ever in a Report: settings that hold a secret carry
// Mask instead of their value, and addresses have their credentials
// removed (internal/redact).
package status

import "time"

// Paths of the status page on a gateway that has it enabled. Without the
// status token (Authorization: Bearer <token>, or ?token=<token>) each
// answers 404, as an unknown path does.
const (
	PagePath   = "/status"        // the HTML page
	JSONPath   = "/status.json"   // one Report as JSON
	StreamPath = "/status/stream" // SSE: one Report per "status" event
)

// EventName is the SSE event type of the Reports on StreamPath.
const EventName = "status"

// Mask stands for a secret setting's value (the same mask internal/redact
// puts in URLs).
const Mask = "xxxxx"

// Report is the status of one gateway process at GeneratedAt.
type Report struct {
	// Service is the program's name ("gateway").
	Service string `json:"service"`
	// Version and Commit are the build's (-ldflags), "dev"/"none" when unset.
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// StartedAt is when the process started serving; UptimeSeconds is
	// GeneratedAt minus StartedAt.
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	// GeneratedAt is when the document was taken.
	GeneratedAt time.Time `json:"generated_at"`
	// Connections is how many SSE streams this process has open.
	Connections int `json:"connections"`
	// RateWindowSeconds is the window over which the topics' rates are
	// measured (the most recent samples of the status stream).
	RateWindowSeconds float64 `json:"rate_window_seconds"`
	// Topics are the topics this process is subscribed to, by name.
	Topics []Topic `json:"topics"`
	// Evictions counts clients disconnected for not keeping up, by reason
	// (queue_full, send_timeout), since the process started.
	Evictions map[string]uint64 `json:"evictions"`
	// Resets counts reset events sent because a Last-Event-ID could not be
	// resumed, by reason (trimmed, malformed, unknown_stream).
	Resets map[string]uint64 `json:"resets"`
	// Broker is the state of the broker subscription.
	Broker Broker `json:"broker"`
	// Settings are the process's settings, secrets masked, in -h order.
	Settings []Setting `json:"settings"`
}

// Topic is one topic this process is subscribed to.
type Topic struct {
	// Topic is the topic's name.
	Topic string `json:"topic"`
	// Subscribers is how many of this process's streams include the topic.
	Subscribers int `json:"subscribers"`
	// EventsTotal counts the topic's events this process fanned out since
	// it subscribed to the topic.
	EventsTotal uint64 `json:"events_total"`
	// RatePerSecond is EventsTotal's rate over Report.RateWindowSeconds.
	RatePerSecond float64 `json:"rate_per_second"`
	// Position is the newest event ID dispatched (or known when
	// subscribing), "" when the topic has no history.
	Position string `json:"position"`
}

// Broker is the state of the gateway's broker subscription.
type Broker struct {
	// Kind is "redis" or "memory" (the embedded in-process broker).
	Kind string `json:"kind"`
	// Mode is how Redis is deployed: "single" (a server or a Sentinel
	// primary), "cluster" (classic pub/sub) or "sharded" (sharded pub/sub
	// on a cluster); "" for the memory broker or before Redis was reached.
	Mode string `json:"mode,omitempty"`
	// Healthy is the readiness view: every subscription routing needs is up.
	Healthy bool `json:"healthy"`
	// Fault is the standing permission or configuration fault, "" if none.
	Fault string `json:"fault,omitempty"`
	// Shards are the subscription connections, one per node (one in all on
	// a single server or a classic cluster), by address.
	Shards []Shard `json:"shards"`
}

// Shard states.
const (
	ShardUp         = "up"         // subscribed and answering
	ShardConnecting = "connecting" // (re)connecting or subscribing
	ShardStopping   = "stopping"   // being closed: routing no longer needs it
	ShardDown       = "down"       // needed, but no connection is running
)

// Shard is one subscription connection (a node of the deployment).
type Shard struct {
	// Address is the node's host:port, never with credentials.
	Address string `json:"address"`
	// State is one of the Shard* constants.
	State string `json:"state"`
	// Since is when State began (zero when unknown).
	Since time.Time `json:"since,omitzero"`
	// Topics is how many topics the connection holds.
	Topics int `json:"topics"`
}

// Setting is one of the process's settings as it is in force.
type Setting struct {
	// Name is the environment variable (SSEGATE_…).
	Name string `json:"name"`
	// Flag is the command-line flag, without its dash.
	Flag string `json:"flag"`
	// Value is the value in force; Mask for a secret that is set, and a
	// URL's credentials masked.
	Value string `json:"value"`
	// Secret says Value is masked.
	Secret bool `json:"secret,omitempty"`
}
