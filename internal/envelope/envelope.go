// Package envelope defines how an event travels on a topic's pub/sub channel.
//
// The publisher's Lua script appends an event to the topic's history and
// publishes one message that carries the event's stream ID, its SSE event
// name, the publisher's accept time and the data:
//
//	"\x1fssegate1 <stream id> <accept time, unix µs> <event name>\n<data>"
//
// The leading unit separator (0x1F) cannot start a JSON document or any
// printable text, so a message without it is a legacy raw PUBLISH, delivered
// as plain data without an id. The event name is last on the header line
// because it may contain spaces. Decoding needs no JSON parsing and no
// allocation: the gateway only slices the message.
package envelope

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/ssegate/ssegate/internal/streamid"
)

// Prefix starts every enveloped message.
const Prefix = "\x1fssegate1 "

// ErrMalformed reports a message that starts with Prefix but does not parse.
var ErrMalformed = errors.New("malformed envelope")

// Envelope is a decoded channel message. Data aliases the message bytes.
type Envelope struct {
	ID         streamid.ID
	AcceptedAt time.Time // zero when unknown
	Event      string
	Data       []byte
}

// Append encodes an envelope; the in-process broker uses it, and tests check
// that it matches what the Lua script builds.
func Append(dst []byte, id streamid.ID, acceptedAt time.Time, event string, data []byte) []byte {
	dst = append(dst, Prefix...)
	dst = id.Append(dst)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, acceptedAt.UnixMicro(), 10)
	dst = append(dst, ' ')
	dst = append(dst, event...)
	dst = append(dst, '\n')
	return append(dst, data...)
}

// Decode parses msg. ok is false for a raw (legacy) message, which carries
// only data; err is set when msg claims to be an envelope but is broken.
func Decode(msg []byte) (env Envelope, ok bool, err error) {
	if !bytes.HasPrefix(msg, []byte(Prefix)) {
		return Envelope{Data: msg}, false, nil
	}
	rest := msg[len(Prefix):]
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 {
		return Envelope{}, true, ErrMalformed
	}
	header, data := rest[:nl], rest[nl+1:]
	idText, header, ok1 := bytes.Cut(header, []byte{' '})
	tsText, event, ok2 := bytes.Cut(header, []byte{' '})
	if !ok1 || !ok2 {
		return Envelope{}, true, ErrMalformed
	}
	id, err := streamid.Parse(string(idText))
	if err != nil {
		return Envelope{}, true, ErrMalformed
	}
	us, err := strconv.ParseInt(string(tsText), 10, 64)
	if err != nil {
		return Envelope{}, true, ErrMalformed
	}
	env = Envelope{ID: id, Event: string(event), Data: data}
	if us > 0 {
		env.AcceptedAt = time.UnixMicro(us)
	}
	return env, true, nil
}
