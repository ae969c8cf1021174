// Package sse encodes Server-Sent Events frames as defined by the WHATWG HTML
// standard, section 9.2 "Server-sent events".
//
// The encoder is the single place where untrusted text meets the wire format,
// so it is strict: an event's data is split into one "data:" line per line
// (on CRLF, CR and LF, the three line endings a conforming parser accepts), and
// the id and event name, which must fit on one line, are validated types that
// can only be built through NewID and NewEventName. With those two rules no
// input can inject an extra field or an extra event into a stream.
//
// All functions append to a caller-owned buffer and never allocate beyond
// growing it, so a frame can be encoded once and its bytes shared by every
// connection that receives it.
package sse

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid reports an id or event name that cannot be sent on one line.
var ErrInvalid = errors.New("sse: value contains CR, LF or NUL")

// ID is an event id that is safe to put on an "id:" line: it contains no CR or
// LF (which would end the field early and let the rest inject fields) and no
// NUL (browsers ignore an id containing NUL). The zero ID means "no id line".
type ID string

// NewID validates s as an event id.
func NewID(s string) (ID, error) {
	if !oneLine(s) {
		return "", ErrInvalid
	}
	return ID(s), nil
}

// EventName is an event type that is safe to put on an "event:" line. The zero
// EventName means "no event line", which browsers dispatch as "message".
type EventName string

// NewEventName validates s as an event name.
func NewEventName(s string) (EventName, error) {
	if !oneLine(s) {
		return "", ErrInvalid
	}
	return EventName(s), nil
}

func oneLine(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00")
}

// AppendEvent appends one complete event frame to dst and returns the
// extended buffer. Data may contain any bytes; every line of it becomes its
// own "data:" line, so the receiver reassembles exactly data with its line
// endings normalised to LF. Empty data still produces one "data:" line so the
// event is dispatched.
func AppendEvent(dst []byte, id ID, name EventName, data []byte) []byte {
	if id != "" {
		dst = AppendIDLine(dst, id)
	}
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	return appendData(dst, data)
}

// AppendIDLine appends only the "id:" line of a frame. It lets a caller put a
// per-connection id in front of a shared frame body (see AppendEvent with a
// zero ID).
func AppendIDLine(dst []byte, id ID) []byte {
	dst = append(dst, "id: "...)
	dst = append(dst, id...)
	return append(dst, '\n')
}

func appendData(dst []byte, data []byte) []byte {
	start := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c != '\n' && c != '\r' {
			continue
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[start:i]...)
		dst = append(dst, '\n')
		if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		start = i + 1
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data[start:]...)
	return append(dst, '\n', '\n')
}

// AppendComment appends a comment frame (": text"), which parsers ignore; it
// is used for keepalives so proxies do not close idle streams. Line breaks in
// text become separate comment lines.
func AppendComment(dst []byte, text string) []byte {
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, ": "...)
		dst = append(dst, text[:i]...)
		dst = append(dst, '\n')
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	dst = append(dst, ": "...)
	dst = append(dst, text...)
	return append(dst, '\n', '\n')
}

// AppendRetry appends a "retry:" field, which sets the browser's reconnection
// delay. It is not an event and dispatches nothing.
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, d.Milliseconds(), 10)
	return append(dst, '\n')
}
