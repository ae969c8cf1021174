// Package broker defines what ssegate's services exchange with the message
// broker: publish requests and results, pages of topic history, and the
// errors callers must tell apart. The Redis implementation lives in
// redisbroker and the in-process one (the embedded default and unit tests) in
// membroker. The gateway and the publisher each declare the small interface
// they consume in their own package.
package broker

import (
	"errors"
	"time"

	"github.com/ssegate/ssegate/internal/streamid"
)

// ErrUnavailable reports that the broker cannot be reached right now; HTTP
// callers answer 503 with Retry-After.
var ErrUnavailable = errors.New("broker unavailable")

// ErrIdempotencyConflict reports an Idempotency-Key that was already used for
// a different request.
var ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")

// PublishRequest is one event to append to a topic's history and publish.
type PublishRequest struct {
	Topic      string
	Event      string // SSE event name; empty for the default "message"
	Data       []byte
	AcceptedAt time.Time
	// IdempotencyKey, when set, makes a retry within the broker's TTL return
	// the first result instead of publishing again.
	IdempotencyKey string
	// Fingerprint identifies the request content, so a reused key with a
	// different request is refused rather than silently answered.
	Fingerprint string
	// Key, when set, makes the event its key's latest in the topic's state
	// (state.go); Delete makes it a tombstone that removes the key instead.
	Key    string
	Delete bool
}

// PublishResult is what a publish produced.
type PublishResult struct {
	ID        streamid.ID
	Receivers int64 // subscribers (gateway processes) that got the message
	Replayed  bool  // an earlier request with the same idempotency key
}

// Entry is one event from a topic's history.
type Entry struct {
	ID         streamid.ID
	Event      string
	Data       []byte
	AcceptedAt time.Time
}

// Page is a slice of a topic's history read in one atomic step.
type Page struct {
	Entries []Entry
	// Lost is true when events after the requested position are no longer
	// retained (trimmed by length or age) or the position does not belong to
	// this history (the stream is gone or was recreated).
	Lost bool
	// Reason says why Lost is set: "trimmed" or "unknown_stream".
	Reason string
	// Last is the newest ID the topic ever had (Zero when none).
	Last streamid.ID
	// Next is the lowest ID the history could give an event published now:
	// the successor of Last or the store's clock, whichever is later (Zero
	// when the broker cannot tell). After a history was lost, it says
	// whether new IDs will come after the ones already handed out.
	Next streamid.ID
}

// HistoryConfig bounds a topic's history.
type HistoryConfig struct {
	MaxLen int64         // approximate entries kept per topic (MAXLEN ~)
	MaxAge time.Duration // entries older than this are trimmed; 0 = no age limit
	// IdempotencyTTL is how long an idempotency key is remembered.
	IdempotencyTTL time.Duration
	// State bounds each topic's keyed state.
	State StateConfig
}

// DefaultHistory returns the history configuration used when none is given:
// 10,000 events per topic, no age limit, idempotency keys kept for 24 hours,
// at most 10,000 state keys per topic without an age limit.
func DefaultHistory() HistoryConfig {
	return HistoryConfig{MaxLen: 10000, IdempotencyTTL: 24 * time.Hour, State: StateConfig{MaxKeys: DefaultStateMaxKeys}}
}

// Sink receives what a broker's subscription produces. Implementations are
// called on the broker's connection reader and must never block.
type Sink interface {
	// Message delivers one message published on topic's channel.
	Message(topic string, payload []byte)
	// Resubscribed reports that the subscription to topic was established
	// again after it was lost, so messages published in between are missing
	// from the live feed. It is called before any message that follows the
	// new subscription.
	Resubscribed(topic string)
}
