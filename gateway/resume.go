package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/sse"
	"github.com/ssegate/ssegate/internal/streamid"
)

// resumeInfo is the data of a reset event.
type resumeInfo struct {
	Reason string   `json:"reason"`
	Topics []string `json:"topics"`
}

// resume works out where the client is in each topic and replays what it
// missed, up to snap (after which the live queue has everything).
func (s *Server) resume(ctx context.Context, w frameWriter, buf []byte, topics []string, snap []streamid.ID, last string) (positions, []byte, error) {
	// A copy: pos moves as events are replayed, snap is the replay's end.
	pos := positions(slices.Clone(snap))
	if last == "" {
		return pos, buf, nil
	}
	from, err := streamid.ParsePosition(last, len(topics))
	if err != nil {
		s.metrics.Resets.WithLabelValues("malformed").Inc()
		buf = s.appendReset(buf, pos, resumeInfo{Reason: "malformed", Topics: topics})
		return pos, buf, w.write(buf)
	}
	// Until a topic is replayed, ids carry the client's own position in it:
	// a client cut off mid-replay must resume from what it really has.
	copy(pos, from)
	var lost resumeInfo
	for i, name := range topics {
		cursor := from[i]
		if !cursor.Less(snap[i]) {
			if snap[i].Less(cursor) {
				// Ahead of this process is fine (another replica delivered
				// it first), ahead of the topic itself is an id the topic
				// never had: the client would wait for it forever.
				newest, err := s.broker.Last(ctx, name)
				if err != nil {
					return nil, buf, fmt.Errorf("replay %q: %w", name, err)
				}
				if newest.Less(cursor) {
					lost.Reason = "unknown_stream"
					lost.Topics = append(lost.Topics, name)
					pos[i] = snap[i]
					continue
				}
			}
			pos[i] = cursor // the client is ahead of this process: skip what it has
			continue
		}
		pos[i] = cursor
		for cursor.Less(snap[i]) {
			page, err := s.broker.History(ctx, name, cursor, snap[i], historyPage)
			if err != nil {
				return nil, buf, fmt.Errorf("replay %q: %w", name, err)
			}
			if page.Lost {
				lost.Reason = page.Reason
				lost.Topics = append(lost.Topics, name)
				pos[i] = snap[i]
				break
			}
			if len(page.Entries) == 0 {
				pos[i] = snap[i]
				break
			}
			for _, e := range page.Entries {
				cursor = e.ID
				pos[i] = e.ID
				buf = s.appendEntry(buf, pos, name, e, len(topics) > 1)
				if len(buf) >= flushAt {
					if err := w.write(buf); err != nil {
						return nil, buf, err
					}
					buf = buf[:0]
				}
			}
			s.metrics.Replayed.Add(float64(len(page.Entries)))
			s.metrics.Delivered.Add(float64(len(page.Entries)))
		}
	}
	if lost.Reason != "" {
		s.metrics.Resets.WithLabelValues(lost.Reason).Inc()
		buf = s.appendReset(buf, pos, lost)
	}
	if err := w.write(buf); err != nil {
		return nil, buf, err
	}
	return pos, buf[:0], nil
}

func (s *Server) appendEntry(buf []byte, pos positions, name string, e broker.Entry, multi bool) []byte {
	ev, err := sse.NewEventName(e.Event)
	if err != nil {
		ev = ""
	}
	if multi {
		buf = sse.AppendIDLine(buf, sse.ID(streamid.Position(pos).String()))
	} else {
		buf = sse.AppendIDLine(buf, sse.ID(e.ID.String()))
	}
	return sse.AppendEvent(buf, "", ev, e.Data)
}

func (s *Server) appendReset(buf []byte, pos positions, info resumeInfo) []byte {
	data, _ := json.Marshal(info)
	return sse.AppendEvent(buf, sse.ID(streamid.Position(pos).String()), "reset", data)
}
