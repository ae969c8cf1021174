package client

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// maxLineBytes bounds one line of the stream (and an event's data), so a
// misbehaving server cannot make the client buffer without end. The gateway
// sends at most SSEGATE_MAX_EVENT_BYTES (64 KiB by default) of data.
const maxLineBytes = 16 << 20

// ErrLineTooLong reports a stream line or event longer than the client
// accepts (16 MiB).
var ErrLineTooLong = errors.New("client: event stream line too long")

// frame is one dispatched event as the parser saw it.
type frame struct {
	id    string // the last event ID after this event
	prev  string // the last event ID before it (after any position frame)
	hasID bool   // the event carried its own "id:" field
	typ   string
	data  string
}

// decoder parses a text/event-stream as WHATWG HTML §9.2.6 "Interpreting an
// event stream" says. It is not safe for concurrent use.
type decoder struct {
	r       *bufio.Reader
	max     int  // longest line plus buffered data: maxLineBytes
	started bool // the leading BOM, if any, has been skipped
	skipLF  bool // the previous line ended with CR: a following LF belongs to it

	// lastID is the last event ID string (§9.2.6 "dispatch the event" step
	// 1): it is set at every blank line, with or without data, and is what
	// a reconnect sends as Last-Event-ID.
	lastID string
	idBuf  string // the last event ID buffer
	sawID  bool   // an "id:" field since the last dispatch
	typ    string // the event type buffer
	data   strings.Builder
	// retry is the reconnection time from the last valid "retry:" field,
	// zero if none was seen.
	retry time.Duration
}

func newDecoder(r io.Reader, lastID string) *decoder {
	return &decoder{r: bufio.NewReaderSize(r, 32<<10), max: maxLineBytes, lastID: lastID, idBuf: lastID}
}

// next returns the next dispatched event. It returns io.EOF (or the read
// error) when the stream ends; an event without its closing blank line is
// discarded then, as the standard says.
func (d *decoder) next() (frame, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return frame{}, err
		}
		if line == "" {
			if f, ok := d.dispatch(); ok {
				return f, nil
			}
			continue
		}
		d.field(line)
	}
}

// field processes one non-empty line.
func (d *decoder) field(line string) {
	if line[0] == ':' {
		return // a comment, e.g. the gateway's keepalive ": ping"
	}
	name, value, found := strings.Cut(line, ":")
	if found {
		value = strings.TrimPrefix(value, " ")
	}
	switch name {
	case "event":
		d.typ = value
	case "data":
		d.data.WriteString(value)
		d.data.WriteByte('\n')
	case "id":
		if !strings.ContainsRune(value, 0) {
			d.idBuf = value
			d.sawID = true
		}
	case "retry":
		if ms, err := strconv.ParseUint(value, 10, 31); err == nil {
			d.retry = time.Duration(ms) * time.Millisecond
		}
	}
}

// dispatch handles a blank line: the last event ID string takes the
// buffer's value even when there is no data (the gateway's position frame),
// and an event is returned only when data was given.
func (d *decoder) dispatch() (frame, bool) {
	prev := d.lastID
	d.lastID = d.idBuf
	hasID := d.sawID
	d.sawID = false
	typ := d.typ
	d.typ = ""
	if d.data.Len() == 0 {
		return frame{}, false
	}
	data := d.data.String()
	d.data.Reset()
	if typ == "" {
		typ = TypeMessage
	}
	return frame{id: d.lastID, prev: prev, hasID: hasID, typ: typ, data: strings.TrimSuffix(data, "\n")}, true
}

// readLine returns the next line without its end (CRLF, LF or CR). A CR is
// a complete line end by itself: the decoder remembers it and drops an LF
// that follows, so it never waits for the byte after a CR.
func (d *decoder) readLine() (string, error) {
	if !d.started {
		d.started = true
		if p, _ := d.r.Peek(len(bom)); string(p) == bom {
			_, _ = d.r.Discard(len(bom))
		}
	}
	var sb strings.Builder
	for {
		b, err := d.r.ReadByte()
		if err != nil {
			return "", err
		}
		if d.skipLF {
			d.skipLF = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return strings.ToValidUTF8(sb.String(), "\uFFFD"), nil
		case '\r':
			d.skipLF = true
			return strings.ToValidUTF8(sb.String(), "\uFFFD"), nil
		}
		if sb.Len()+d.data.Len() >= d.max {
			return "", ErrLineTooLong
		}
		sb.WriteByte(b)
	}
}

// bom is the UTF-8 byte order mark, which a stream may start with (§9.2.6:
// "One leading U+FEFF BYTE ORDER MARK character must be ignored").
const bom = "\xEF\xBB\xBF"
