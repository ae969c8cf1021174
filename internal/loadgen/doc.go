// Package loadgen is the engine of the ssebench load tool: it opens many
// Server-Sent Events streams against one or more ssegate gateways, publishes
// timestamped events at a fixed rate, and reports what arrived, how late, and
// what it cost the gateways.
//
// # Architecture
//
// Connections are dialled by a bounded pool of connect workers with
// net.Dialer (binding source addresses 127.0.0.2, 127.0.0.3, … so that more
// than one address's ~28k ephemeral ports are available). After the HTTP
// response headers arrive the socket's descriptor is duplicated out of the Go
// runtime and handed to one of a few reader goroutines, each owning an epoll
// instance (golang.org/x/sys/unix). There is no goroutine per connection: a
// connection is a few hundred bytes of state in one preallocated slice (an
// incremental HTTP chunked-body decoder, an incremental SSE Parser and the
// per-topic sequence bookkeeping), so the tool itself stays cheap next to the
// gateway it measures.
//
// Every published event carries {"seq":n,"topic_index":k,"sent_unix_nano":t}
// in its data. Readers derive publish→receive latency from the timestamp into
// lock-free log-linear Histograms (one per goroutine, merged for reports),
// and duplicates, reordering and gaps from the per-topic sequence numbers.
// Single-topic streams also carry `id: <ms>-<seq>` (see docs/CONTRACT.md),
// which must be strictly increasing.
//
// Publishing is paced by a ticker that hands batches to a few publisher
// goroutines (HTTP keep-alive clients of the ssegate publisher, or raw Redis
// PUBLISH through rueidis), so rates of 100k events/s are possible without a
// goroutine or timer per event.
//
// Only loopback targets are accepted: the tool is for benchmarking on one
// machine, never for loading somebody else's server.
package loadgen
