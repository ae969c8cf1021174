package client

import (
	"encoding/json"
	"fmt"
)

// Event types a Subscription returns. Events published with a "type" on
// /v1/events arrive with that type.
const (
	// TypeMessage is an ordinary event (an SSE event without "event:").
	TypeMessage = "message"
	// TypeReset: the position could not be resumed (trimmed from history,
	// malformed, stream gone). Data is {"reason","topics"} (see
	// Message.Reset); the stream goes on live from "now", so the caller
	// must refetch the state it derives from the events.
	TypeReset = "reset"
	// TypeShutdown: the gateway is draining; the stream ends after it and
	// the Subscription reconnects, to another replica or the restarted
	// gateway, from its position.
	TypeShutdown = "shutdown"
	// TypeTokenExpired: the subscriber token expired; the stream ends after
	// it.
	TypeTokenExpired = "token-expired"
	// TypeState is the state marker a gateway may send with the current
	// state ahead of live events; it is surfaced as is when present.
	TypeState = "state"
)

// Message is one event from a stream.
type Message struct {
	// ID is the event's own id: its position in the topic's history (one
	// position per topic, joined with "_", on a multi-topic stream). It is
	// empty for an event without "id:", such as a legacy raw PUBLISH, which
	// cannot be replayed.
	ID string
	// Topic is the topic the event belongs to: on a multi-topic stream the
	// one whose position the id advanced. Empty when it cannot be told
	// (no id, or a reset that moved several positions).
	Topic string
	Type  string // TypeMessage, TypeReset, … or a custom type
	Data  string // the event's data, lines joined with "\n"
}

// ResetInfo is the data of a TypeReset event.
type ResetInfo struct {
	Reason string   `json:"reason"` // "trimmed", "malformed" or "unknown_stream"
	Topics []string `json:"topics"`
}

// Reset decodes the data of a TypeReset event.
func (m Message) Reset() (ResetInfo, error) {
	var ri ResetInfo
	if m.Type != TypeReset {
		return ri, fmt.Errorf("client: event of type %q is not a reset", m.Type)
	}
	if err := json.Unmarshal([]byte(m.Data), &ri); err != nil {
		return ri, fmt.Errorf("client: reset data %q: %w", m.Data, err)
	}
	return ri, nil
}
