package gateway

import (
	"time"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/sse"
	"github.com/ssegate/ssegate/internal/streamid"
)

// Every event frame the gateway writes, live or replayed, is built here:
// an id line (appendFrameID) and a body (appendFrameBody). A single-topic
// stream's id is the event's own stream id; a multi-topic stream's id is
// the stream's position, every topic's last id (internal/streamid
// Position), so the one Last-Event-ID a browser sends back resumes every
// topic. Stream ids and positions are digits, '-' and '_': safe on an id
// line as they are (WHATWG HTML §9.2.6 forbids only CR, LF and NUL there).

// frame is one event ready for the wire. It is encoded once, when it
// arrives, and the same bytes are shared by every connection that gets it.
type frame struct {
	topic    string
	id       streamid.ID
	hasID    bool
	full     []byte // the whole frame, with the topic's own id line
	body     []byte // full without its id line, for multi-topic connections
	accepted time.Time
}

func newFrame(topic string, id streamid.ID, hasID bool, event string, data []byte, accepted time.Time) *frame {
	f := &frame{topic: topic, id: id, hasID: hasID, accepted: accepted}
	buf := make([]byte, 0, 48+len(event)+len(data)+len(data)/32)
	if hasID {
		buf = appendFrameID(buf, id, nil, false)
	}
	idLen := len(buf)
	buf = appendFrameBody(buf, event, data)
	f.full, f.body = buf, buf[idLen:]
	return f
}

// appendFrameID appends an event's id line: in a multi-topic stream the
// stream's position pos (which already counts the event), otherwise the
// event's own stream id.
func appendFrameID(buf []byte, id streamid.ID, pos positions, multi bool) []byte {
	if multi {
		return appendPositionID(buf, pos)
	}
	buf = append(buf, "id: "...)
	buf = id.Append(buf)
	return append(buf, '\n')
}

// appendPositionID appends an id line holding pos as the client sends it
// back: a single topic's stream id, or the multi-topic position.
func appendPositionID(buf []byte, pos positions) []byte {
	buf = append(buf, "id: "...)
	buf = streamid.Position(pos).Append(buf)
	return append(buf, '\n')
}

// appendFrameBody appends what follows an event's id line: its event name
// and its data lines. A name that is not one line is dropped (the event
// is then a "message"): only hand-made envelopes or history entries can
// carry one, the publisher validates names.
func appendFrameBody(buf []byte, event string, data []byte) []byte {
	name, err := sse.NewEventName(event)
	if err != nil {
		name = ""
	}
	return sse.AppendEvent(buf, "", name, data)
}

// appendEntry appends a replayed history entry of a stream now at pos.
func appendEntry(buf []byte, pos positions, e broker.Entry, multi bool) []byte {
	buf = appendFrameID(buf, e.ID, pos, multi)
	return appendFrameBody(buf, e.Event, e.Data)
}

// appendPosition appends a frame with only an id line: pos as the client
// sends it back. With no data it dispatches nothing; it only sets the last
// event ID (WHATWG HTML §9.2.6 sets the ID before the empty-data check).
func appendPosition(buf []byte, pos positions) []byte {
	return append(appendPositionID(buf, pos), '\n')
}

// appendControl appends a control event (reset, shutdown, token-expired):
// with an id line holding pos, or none when pos is nil.
func appendControl(buf []byte, pos positions, event sse.EventName, data []byte) []byte {
	if pos != nil {
		buf = appendPositionID(buf, pos)
	}
	return sse.AppendEvent(buf, "", event, data)
}
