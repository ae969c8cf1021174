package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/streamid"
)

// resumeInfo is the data of a reset event.
type resumeInfo struct {
	Reason string   `json:"reason"`
	Topics []string `json:"topics"`
}

// resume works out where the client is in each topic, replays what it
// missed up to snap (after which the live queue has everything) and tells
// the client its position. buf holds the stream's preamble, which goes out
// first. It also returns the topics whose position was lost (the reset's),
// which get their state next (stream_state.go).
//
// Every stream gives the client a position before anything live: when the
// client's last event ID is not where the stream stands (a fresh client has
// none), an id line and a blank line follow the preamble and any replay.
// That frame has no data, so it sets the last event ID without dispatching a
// message (WHATWG HTML §9.2.6 sets the ID before the empty-data check).
// Without it a client that had no event yet would reconnect without
// Last-Event-ID and silently miss what was published while it was away. The
// position is snap, the hub's state when the connection joined: every event
// after it is in the connection's queue, none up to it is.
func (s *Server) resume(ctx context.Context, w writer, buf []byte, topics []string, snap []streamid.ID, last string) (positions, []string, []byte, error) {
	// A copy: pos moves as events are replayed, snap is the replay's end.
	pos := positions(slices.Clone(snap))
	if last == "" {
		// One write with the preamble: the first bytes carry the position.
		buf = appendPosition(buf, pos)
		return pos, nil, buf[:0], w.write(buf)
	}
	if err := w.write(buf); err != nil { // the preamble, before history is read
		return nil, nil, buf, err
	}
	buf = buf[:0]
	from, err := streamid.ParsePosition(last, len(topics))
	if err != nil {
		s.metrics.Resets.WithLabelValues("malformed").Inc()
		buf = appendReset(buf, pos, resumeInfo{Reason: "malformed", Topics: topics})
		return pos, topics, buf[:0], w.write(buf)
	}
	// Until a topic is replayed, ids carry the client's own position in it:
	// a client cut off mid-replay must resume from what it really has.
	copy(pos, from)
	r := &replay{w: w, buf: buf, pos: pos, has: slices.Clone(pos), multi: len(topics) > 1}
	var lost resumeInfo
	for i, name := range topics {
		reason, err := s.replayTopic(ctx, r, i, name, snap[i])
		if err != nil {
			return nil, nil, r.buf, err
		}
		if reason != "" {
			lost.Reason = reason
			lost.Topics = append(lost.Topics, name)
		}
	}
	switch {
	case lost.Reason != "":
		s.metrics.Resets.WithLabelValues(lost.Reason).Inc()
		r.buf = appendReset(r.buf, r.pos, lost) // its id is the position
	case !slices.Equal(r.has, r.pos):
		// The replay ended short of the position (its last entries were
		// deleted), or the client is behind in a topic with nothing to replay.
		r.buf = appendPosition(r.buf, r.pos)
	}
	if err := w.write(r.buf); err != nil {
		return nil, nil, r.buf, err
	}
	return r.pos, lost.Topics, r.buf[:0], nil
}

// replay is a connection's replay in progress: where the stream stands (pos)
// and the position its last event ID holds (has), which differ until an id
// line catches the client up.
type replay struct {
	w     writer
	buf   []byte
	pos   positions
	has   positions
	multi bool
}

// replayTopic replays topic i (name) from the client's position up to end.
// It returns why events the client misses are lost ("" when none are).
func (s *Server) replayTopic(ctx context.Context, r *replay, i int, name string, end streamid.ID) (string, error) {
	cursor := r.pos[i]
	if !cursor.Less(end) {
		return s.checkAhead(ctx, r, i, name, end)
	}
	if served, err := s.replayWindow(r, i, name, cursor, end); served || err != nil {
		return "", err
	}
	for cursor.Less(end) {
		// Shared with concurrent resumes from the same position, which
		// may end elsewhere: this one keeps the entries up to end.
		page, err := s.reads.history(ctx, name, cursor)
		if err != nil {
			return "", fmt.Errorf("replay %q: %w", name, err)
		}
		if page.Lost {
			r.pos[i] = end
			return page.Reason, nil
		}
		entries, more := upTo(page.Entries, end), len(page.Entries) == historyPage
		if len(entries) > 0 {
			if cursor, err = r.entries(i, entries); err != nil {
				return "", err
			}
			s.metrics.Replayed.Add(float64(len(entries)))
			s.metrics.Delivered.Add(float64(len(entries)))
		}
		if len(entries) < len(page.Entries) || !more {
			r.pos[i] = end // nothing more up to end
			return "", nil
		}
	}
	return "", nil
}

// checkAhead handles a client at or past end in topic i (name). Ahead of
// this process is fine (another replica delivered it first); ahead of the
// topic itself is an id the topic never had, and the client would wait for
// it forever: that is reported as unknown_stream.
func (s *Server) checkAhead(ctx context.Context, r *replay, i int, name string, end streamid.ID) (string, error) {
	cursor := r.pos[i]
	if !end.Less(cursor) {
		return "", nil
	}
	newest, err := s.reads.last(ctx, name)
	if err != nil {
		return "", fmt.Errorf("replay %q: %w", name, err)
	}
	if newest.Less(cursor) {
		r.pos[i] = end
		return "unknown_stream", nil
	}
	return "", nil // the client is ahead of this process: skip what it has
}

// entries appends a page of topic i's history, writing whenever flushAt
// bytes are buffered, and returns the last id appended.
func (r *replay) entries(i int, page []broker.Entry) (streamid.ID, error) {
	var last streamid.ID
	for _, e := range page {
		last = e.ID
		r.pos[i] = e.ID
		r.buf = appendEntry(r.buf, r.pos, e, r.multi)
		copy(r.has, r.pos)
		if len(r.buf) >= flushAt {
			if err := r.w.write(r.buf); err != nil {
				return last, err
			}
			r.buf = r.buf[:0]
		}
	}
	return last, nil
}

// appendReset appends a reset event: its id is the position, its data
// says why and for which topics events are lost.
func appendReset(buf []byte, pos positions, info resumeInfo) []byte {
	data, _ := json.Marshal(info)
	return appendControl(buf, pos, "reset", data)
}

// upTo returns the leading entries of page not beyond end.
func upTo(page []broker.Entry, end streamid.ID) []broker.Entry {
	n := 0
	for n < len(page) && !end.Less(page[n].ID) {
		n++
	}
	return page[:n]
}
