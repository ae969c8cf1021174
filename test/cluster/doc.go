// Package cluster proves ssegate beyond one machine: several gateway
// replicas and a publisher on a real Redis Cluster (three primaries with a
// replica each, from Debian's redis-server, see internal/redistest), with
// classic and sharded pub/sub. It checks, event by event against the
// topic's history stream (XRANGE), that clients end with every event
// exactly once and in order when a gateway replica dies under them and
// when a Redis primary fails over, and where the subscriptions live
// (PUBSUB SHARDNUMSUB, CLIENT LIST TYPE pubsub).
//
// Run with REQUIRE_REDIS=1 so a missing redis-server fails instead of
// skipping:
//
//	REQUIRE_REDIS=1 go test -race -count=1 ./test/cluster/
package cluster
