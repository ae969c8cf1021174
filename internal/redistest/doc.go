// Package redistest gives tests a real Redis: a single server (Start) or a
// Redis Cluster with replicas (StartCluster), both stopped by t.Cleanup.
//
// Start takes, in order: the external server named by REDIS_ADDR (shared;
// never flushed, stopped or restarted); a redis-server child process on a
// free 127.0.0.1 port, with persistence off and its files in t.TempDir();
// a redis:7 container through testcontainers-go when a Docker engine
// answers. When none is available the test is skipped, or failed when
// REQUIRE_REDIS=1 (set it in CI so Redis tests cannot vanish silently).
// StartCluster needs the redis-server and redis-cli binaries.
//
// Child processes are SIGKILLed in cleanup, also when the test fails or
// panics, and (on Linux) by the kernel if the test binary dies first.
// Their output goes to a log file in the temp dir that is printed with
// t.Log when the test failed. A binary server can be crashed (Stop) and
// brought back on the same port (Restart) to test reconnection; a cluster
// primary can be killed (KillPrimary), which returns once a replica has
// been promoted, to test failover.
//
// Do, DoSlice and Exec run one command on a short-lived connection with a
// minimal RESP client, so the helpers start no background goroutines and
// keep no connections that could skew the connection counts tests assert
// (CLIENT LIST, PUBSUB NUMSUB). Slot computes a key's cluster hash slot.
//
// Every wait is a poll of a condition against a deadline; nothing sleeps
// blindly.
package redistest
