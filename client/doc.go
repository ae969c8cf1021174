// Package client is a Go client for ssegate: a Publisher for the
// publisher's HTTP API and a Subscription that reads a gateway's event
// stream. It depends on the standard library only.
//
// # Publishing
//
// A Publisher sends spool events (POST /publish) and generic events
// (POST /v1/events). Every call is one logical event: it gets one
// Idempotency-Key (generated unless the event carries one) that every retry
// of that call reuses, so a publish whose answer was lost, or that Redis ran
// just before a connection broke, is not stored twice — the publisher
// answers the retry with the first result (Result.Replayed). Connection
// errors, 408, 429 and 5xx answers are retried with exponential backoff and
// jitter, waiting at least the answer's Retry-After; other 4xx answers end
// the call at once with an *APIError, which callers inspect with errors.As.
//
// # Subscribing
//
// A Subscription reads GET /api/sse/stream with a parser that follows the
// WHATWG HTML standard, §9.2 "Server-sent events" (CR, LF and CRLF line
// ends, a leading BOM, comments, "retry:", and "id:" values containing NUL
// ignored). Like a browser's EventSource it remembers the last event ID —
// including the position frame ("id: <pos>" and a blank line, no data) that
// the gateway sends first, so a subscription that has received no event yet
// still resumes exactly — and reconnects with Last-Event-ID after a
// disconnect, waiting the server's "retry:" hint and then backing off with
// jitter. The gateway guarantees that a resumed stream repeats and misses
// nothing while the position is in the topic's history; when it is not, the
// stream carries an event of type TypeReset, which the caller must treat as
// "refetch your state". TypeShutdown (the gateway is draining) and
// TypeTokenExpired (the subscriber token expired) are surfaced as events too;
// after either the stream ends and Next reconnects; after token-expired the
// gateway refuses a reconnect with the same token, and Next returns that
// *APIError.
//
// Nothing in this package starts a goroutine: Next reads the stream in the
// caller's goroutine.
package client
