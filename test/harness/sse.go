package harness

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// maxLine bounds one line of an event stream (a data line carries a whole
// event's payload); a longer line ends ReadEvents with bufio.ErrTooLong.
const maxLine = 16 << 20

// Handler receives what ReadEvents parses. Nil fields are skipped. The
// calls come from the goroutine running ReadEvents, in stream order.
type Handler struct {
	// Dispatch is called at every blank line with the last event ID as a
	// browser holds it from then on: an id field only counts once its
	// frame is dispatched, so an event cut off mid-frame (the connection
	// dropped) does not count as received, id included. It is called
	// before Event for the same frame.
	Dispatch func(lastID string)
	// Event receives every dispatched event; a frame without data is not
	// an event.
	Event func(Event)
	// Comment receives the text of each comment line (": ping" gives
	// "ping").
	Comment func(string)
	// Position receives the id of a frame that has an id and no data: it
	// sets the last event ID without an event, which is how the gateway
	// gives a stream its position. It is called after Dispatch.
	Position func(id string)
}

// ReadEvents parses the event stream r as EventSource does (WHATWG HTML
// §9.2.6, "Interpreting an event stream") until it ends, and returns the
// error that ended it: io.EOF when r ended cleanly. Lines end with CRLF,
// LF or a lone CR; a leading byte order mark is skipped; an id containing
// NUL is ignored; an unterminated last line is discarded.
func ReadEvents(r io.Reader, h Handler) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	sc.Split(scanLines)
	p := &eventParser{h: h}
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			line, first = strings.TrimPrefix(line, "\uFEFF"), false
		}
		p.line(line)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

// eventParser is ReadEvents' state between lines: the frame being read
// and the retry value, which lasts across frames.
type eventParser struct {
	h               Handler
	data            strings.Builder
	name, id, retry string
	hasData, hasID  bool
}

// line interprets one line: a blank line dispatches the frame, a line
// starting with a colon is a comment, any other line is a field.
func (p *eventParser) line(line string) {
	if line == "" {
		p.dispatch()
		return
	}
	if c, ok := strings.CutPrefix(line, ":"); ok {
		if p.h.Comment != nil {
			p.h.Comment(strings.TrimPrefix(c, " "))
		}
		return
	}
	field, value, _ := strings.Cut(line, ":")
	value = strings.TrimPrefix(value, " ")
	switch field {
	case "data":
		p.data.WriteString(value)
		p.data.WriteByte('\n')
		p.hasData = true
	case "event":
		p.name = value
	case "id":
		if !strings.ContainsRune(value, 0) {
			p.id, p.hasID = value, true
		}
	case "retry":
		p.retry = value
	}
}

// dispatch ends a frame: the id becomes the last event ID (it lasts
// across frames), the frame's data, if any, an event.
func (p *eventParser) dispatch() {
	h := p.h
	if h.Dispatch != nil {
		h.Dispatch(p.id)
	}
	if p.hasID && !p.hasData && h.Position != nil {
		h.Position(p.id)
	}
	if p.hasData && h.Event != nil {
		ev := Event{Name: p.name, Data: strings.TrimSuffix(p.data.String(), "\n"), Retry: p.retry}
		if ev.Name == "" {
			ev.Name = "message"
		}
		if p.hasID {
			ev.ID = p.id
		}
		h.Event(ev)
	}
	p.data.Reset()
	p.name, p.hasData, p.hasID = "", false, false
}

// scanLines splits an event stream into lines ended by CRLF, LF or a lone
// CR, without the line ending. A CR at the end of the buffered data waits
// for more, since an LF may follow it.
func scanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		return 0, nil, nil // at EOF: an unterminated line, discarded
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	default:
		return 0, nil, nil
	}
}
