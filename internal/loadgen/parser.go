package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// MaxEventBytes bounds the bytes one SSE event (all its data lines, or any
// single line) may occupy while it is being assembled. A stream exceeding it
// is broken or hostile; the Parser reports ErrEventTooLarge rather than grow
// without limit.
const MaxEventBytes = 1 << 20

// retainBytes is the largest buffer capacity a Parser keeps between events.
// Larger buffers are released after dispatch so that one big event does not
// pin memory on each of tens of thousands of idle connections.
const retainBytes = 4096

// ErrEventTooLarge is returned by Parser.Feed when a line or an event's data
// exceeds MaxEventBytes.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one dispatched SSE event. Its slices alias the Parser's buffers and
// are valid only until the handler returns.
type Event struct {
	// ID is the value of the `id:` field of this frame, when HasID is true.
	// Unlike a browser, the Parser does not carry the id over to later
	// frames' events: the load tool checks the ids the server actually
	// sent. The browser's "last event ID" is kept apart (LastEventID).
	ID []byte
	// HasID reports whether the frame had a (valid) `id:` field.
	HasID bool
	// Type is the `event:` field; empty means the default type "message".
	Type []byte
	// Data is the concatenation of the frame's `data:` lines joined by "\n".
	Data []byte
}

// Handler receives what a Parser recognises. Methods are called
// synchronously from Feed and must not retain the slices they are given.
type Handler interface {
	// HandleEvent is called for each dispatched event (a frame with at least
	// one data line followed by a blank line).
	HandleEvent(ev Event)
	// HandleComment is called for each comment line (`: ping`), with the
	// leading colon and one optional space removed.
	HandleComment(text []byte)
	// HandleRetry is called for each valid `retry:` field, in milliseconds.
	HandleRetry(ms int64)
	// HandlePosition is called for a frame that has an `id:` but no data
	// (ssegate's position frame): it dispatches no event, yet it sets the
	// last event ID (WHATWG HTML §9.2.6 updates it before the empty-data
	// check).
	HandlePosition(id []byte)
}

// Parser flags.
const (
	flagAfterCR   uint8 = 1 << iota // the previous chunk ended in CR: skip one leading LF
	flagHasData                     // the current event has at least one data line
	flagHasID                       // the current event has an id field
	flagFirstLine                   // the first line has been seen (BOM handled)
)

// Parser is an incremental parser for the text/event-stream format (WHATWG
// HTML §9.2.6, "Interpreting an event stream"). Bytes may be fed in arbitrary
// pieces: a frame, a line, even a CRLF pair may be split across Feed calls.
// Lines end with CRLF, LF or a lone CR; a leading UTF-8 BOM is ignored;
// multiple data lines are joined with "\n".
//
// The zero value is ready to use. A Parser is not safe for concurrent use;
// it is kept small (a few slice headers) because the load tool has one per
// connection.
type Parser struct {
	line   []byte // partial line carried over from the previous Feed
	data   []byte
	id     []byte
	typ    []byte
	lastID []byte // the browser's last event ID: kept across frames and reconnects
	flags  uint8
}

// Reset returns the parser to its initial state, keeping no buffers.
func (p *Parser) Reset() { *p = Parser{} }

// Reconnect prepares the parser for a new stream of the same client, as
// EventSource does when it reestablishes a connection: the frame being
// assembled is discarded, the last event ID is kept (it goes into the
// request's Last-Event-ID header).
func (p *Parser) Reconnect() { *p = Parser{lastID: p.lastID} }

// LastEventID is the id of the last dispatched frame that carried one (a
// data frame or a position frame), empty before any or after an empty
// `id:` (which resets it, as in a browser). It aliases the Parser's buffer.
func (p *Parser) LastEventID() []byte { return p.lastID }

// Feed parses b, calling h for every complete event, comment and retry
// field. Incomplete trailing input is kept for the next call.
func (p *Parser) Feed(b []byte, h Handler) error {
	for len(b) > 0 {
		if p.flags&flagAfterCR != 0 {
			p.flags &^= flagAfterCR
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		i := bytes.IndexByte(b, '\n')
		scan := b
		if i >= 0 {
			scan = b[:i]
		}
		if j := bytes.IndexByte(scan, '\r'); j >= 0 {
			i = j
		}
		if i < 0 {
			if len(p.line)+len(b) > MaxEventBytes {
				return fmt.Errorf("line of more than %d bytes: %w", MaxEventBytes, ErrEventTooLarge)
			}
			p.line = append(p.line, b...)
			return nil
		}
		line := b[:i]
		if b[i] == '\r' {
			switch {
			case i+1 == len(b):
				p.flags |= flagAfterCR
				b = b[i+1:]
			case b[i+1] == '\n':
				b = b[i+2:]
			default:
				b = b[i+1:]
			}
		} else {
			b = b[i+1:]
		}
		if len(p.line) > 0 {
			if len(p.line)+len(line) > MaxEventBytes {
				return fmt.Errorf("line of more than %d bytes: %w", MaxEventBytes, ErrEventTooLarge)
			}
			p.line = append(p.line, line...)
			line = p.line
		}
		err := p.processLine(line, h)
		p.line = p.line[:0]
		if cap(p.line) > retainBytes {
			p.line = nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// processLine applies one complete line (without its terminator).
func (p *Parser) processLine(line []byte, h Handler) error {
	if p.flags&flagFirstLine == 0 {
		p.flags |= flagFirstLine
		line = bytes.TrimPrefix(line, utf8BOM)
	}
	if len(line) == 0 {
		p.dispatch(h)
		return nil
	}
	if line[0] == ':' {
		text := line[1:]
		if len(text) > 0 && text[0] == ' ' {
			text = text[1:]
		}
		h.HandleComment(text)
		return nil
	}
	field, value := line, []byte(nil)
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		field, value = line[:c], line[c+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		n := len(p.data) + len(value)
		if p.flags&flagHasData != 0 {
			n++
		}
		if n > MaxEventBytes {
			return fmt.Errorf("event data of more than %d bytes: %w", MaxEventBytes, ErrEventTooLarge)
		}
		if p.flags&flagHasData != 0 {
			p.data = append(p.data, '\n')
		}
		p.data = append(p.data, value...)
		p.flags |= flagHasData
	case "event":
		p.typ = append(p.typ[:0], value...)
	case "id":
		// An id containing NUL is ignored (spec); browsers keep the old one.
		if bytes.IndexByte(value, 0) < 0 {
			p.id = append(p.id[:0], value...)
			p.flags |= flagHasID
		}
	case "retry":
		if ms, ok := parseDigits(value); ok {
			h.HandleRetry(ms)
		}
	}
	// Unknown fields are ignored, as the spec requires.
	return nil
}

// dispatch ends the current frame at a blank line.
func (p *Parser) dispatch(h Handler) {
	if p.flags&flagHasID != 0 {
		p.lastID = append(p.lastID[:0], p.id...)
	}
	switch {
	case p.flags&flagHasData != 0:
		h.HandleEvent(Event{
			ID:    p.id,
			HasID: p.flags&flagHasID != 0,
			Type:  p.typ,
			Data:  p.data,
		})
	case p.flags&flagHasID != 0:
		h.HandlePosition(p.id)
	}
	p.flags &^= flagHasData | flagHasID
	p.data, p.id, p.typ = trimBuf(p.data), trimBuf(p.id), trimBuf(p.typ)
}

// trimBuf empties b, releasing it when it has grown beyond retainBytes.
func trimBuf(b []byte) []byte {
	if cap(b) > retainBytes {
		return nil
	}
	return b[:0]
}

// parseDigits parses a non-empty string of ASCII digits (as the spec's
// retry field and our JSON numbers require), rejecting overflow.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}
