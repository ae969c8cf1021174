// Package statebench measures what keyed state (issue 14) costs: how long
// many clients opening `?state=1` at once take to all hold a topic's state,
// how many Redis commands the gateway issued for it, and what recording a
// key costs on the publish path. cmd/statebench turns flags into a Config;
// docs/benchmarks.md ("Initial state") has the figures and the commands.
//
// A run has three phases:
//
//  1. seed: Keys keyed events are published through the publisher
//     (POST /v1/events with "key"), so the topic's state holds Keys keys;
//  2. connect: Clients goroutines are released at the same instant, each
//     opens GET /api/sse/stream?topic=T&state=1 and reads until its
//     `event: state` marker, checking that it got exactly Keys events
//     before it and that the marker says Keys. Redis's INFO commandstats is
//     read before the release and after the last marker: the difference is
//     what the gateway asked of Redis for all of them (the tool's own INFO
//     is taken off);
//  3. publish cost: Workers closed-loop publishers post to another topic,
//     alternating between phases with and without "key" (ABBA…, so a busy
//     neighbour on a shared machine hits both alike), and the publishes/s
//     and latency percentiles of each are reported.
//
// A goroutine per client is plenty at this size (the reading is the cheap
// part); for tens of thousands of connections see internal/loadgen. Only
// loopback targets are accepted, as in loadgen.
package statebench
