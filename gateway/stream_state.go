package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ssegate/ssegate/internal/streamid"
)

// A stream's state (GET /api/sse/stream?state=1, docs/CONTRACT.md "State"):
// before anything live the client gets the latest event of every key of
// each topic, framed exactly as replay or live would frame that event, then
// an `event: state` marker whose id is the position the stream continues
// from. The state is read through the same shared, cached read as GET
// /api/state (stateCache), and its frames are built once per read.
//
// The state of topic T was read at position P_T; the hub's snapshot when
// the connection joined is S_T. The stream continues from P_T as if the
// client had sent it as its Last-Event-ID: when P_T < S_T the events
// (P_T, S_T] are replayed from history after the marker; when P_T > S_T
// (the read saw events the hub has not delivered yet) the connection's
// position starts at P_T, so positions.advance drops the live events up to
// it. Either way every event after P_T is delivered once, and none before.

// stateMarkerEvent is the name of the event that ends a stream's state.
const stateMarkerEvent = "state"

// stateMarker is the data of the state marker.
type stateMarker struct {
	Position string             `json:"position"`
	Keys     int                `json:"keys"`
	Topics   []stateMarkerTopic `json:"topics"`
}

// stateMarkerTopic is one topic's part of the state marker.
type stateMarkerTopic struct {
	Topic    string `json:"topic"`
	Position string `json:"position"`
	Keys     int    `json:"keys"`
}

// frames returns the state's events as a stream sends them: with their
// own id lines on a single-topic stream, without on a multi-topic one (a
// position in the middle of the state would name positions the client has
// not reached). Each form is built once per read.
func (ts *topicState) frames(multi bool) []byte {
	if multi {
		ts.multiOnce.Do(func() {
			for _, e := range ts.st.Entries {
				ts.multi = appendFrameBody(ts.multi, e.Event, e.Data)
			}
		})
		return ts.multi
	}
	ts.singleOnce.Do(func() {
		for _, e := range ts.st.Entries {
			ts.single = appendEntry(ts.single, nil, e.Entry, false)
		}
	})
	return ts.single
}

// start sends the preamble and brings the client to the position its live
// stream continues from: the state when it asked for it without a last
// event ID; otherwise a resume (resume.go), followed by the state of the
// topics whose position could not be resumed when they have one.
func (s *Server) start(ctx context.Context, w writer, buf []byte, ss session, last string) (positions, []byte, error) {
	topics := ss.cn.topics
	if last == "" && ss.state {
		all := make([]int, len(topics))
		for i := range all {
			all[i] = i
		}
		return s.sendState(ctx, w, buf, ss, positions(slices.Clone(ss.snap)), all, true)
	}
	pos, reset, rest, err := s.resume(ctx, w, buf, topics, ss.snap, last)
	if err != nil || len(reset) == 0 {
		return pos, rest, err
	}
	which := make([]int, 0, len(reset))
	for i, name := range topics {
		if slices.Contains(reset, name) {
			which = append(which, i)
		}
	}
	return s.sendState(ctx, w, rest, ss, pos, which, ss.state)
}

// sendState writes the state of the topics at indexes which, the marker,
// and the events between each state's position and the hub's snapshot.
// Unless asked, a topic without keys gets nothing, and no marker goes out
// when none has keys (a reset without state=1). pos is where the stream
// stands in the other topics. It returns the stream's position.
//
// A cached state older than the topic's history retains cannot be
// continued: those topics get an `event: reset` and their state read
// afresh (which is at or past the snapshot). Should even that be trimmed
// (a topic recreated with lower ids), the stream continues from the
// snapshot after the reset, as resume does.
func (s *Server) sendState(ctx context.Context, w writer, buf []byte, ss session, pos positions, which []int, asked bool) (positions, []byte, error) {
	multi := len(ss.cn.topics) > 1
	for attempt := 0; ; attempt++ {
		sts, err := s.readStates(ctx, ss.cn.topics, which, attempt > 0, asked)
		if err != nil {
			return nil, buf, err
		}
		if len(sts) == 0 {
			return pos, buf, w.write(buf)
		}
		r := &replay{w: w, buf: buf, pos: pos, multi: multi}
		lost, err := s.appendStateAndGap(ctx, r, sts, ss.snap)
		if err != nil {
			return nil, r.buf, err
		}
		if lost.Reason == "" || attempt > 0 {
			if err := w.write(r.buf); err != nil {
				return nil, r.buf, err
			}
			return r.pos, r.buf[:0], nil
		}
		which = which[:0]
		for i, name := range ss.cn.topics {
			if slices.Contains(lost.Topics, name) {
				which = append(which, i)
			}
		}
		buf, pos, asked = r.buf, r.pos, true
	}
}

// appendStateAndGap appends the states sts, the marker, the events from
// each state's position to snap, and then a reset for the topics whose
// gap is trimmed or a position line when the stream moved past the
// marker. It returns what was lost.
func (s *Server) appendStateAndGap(ctx context.Context, r *replay, sts []indexedState, snap []streamid.ID) (resumeInfo, error) {
	if err := s.appendState(r, sts); err != nil {
		return resumeInfo{}, err
	}
	lost, err := s.replayGap(ctx, r, sts, snap)
	if err != nil {
		return resumeInfo{}, err
	}
	switch {
	case lost.Reason != "":
		s.metrics.Resets.WithLabelValues(lost.Reason).Inc()
		r.buf = appendReset(r.buf, r.pos, lost)
	case !slices.Equal(r.has, r.pos):
		r.buf = appendPosition(r.buf, r.pos)
	}
	return lost, nil
}

// indexedState is the state of the stream's topic i.
type indexedState struct {
	i  int
	ts *topicState
}

// readStates reads the state of the topics at indexes which (fresh: past
// the cache). Unless asked, topics without keys are left out.
func (s *Server) readStates(ctx context.Context, topics []string, which []int, fresh, asked bool) ([]indexedState, error) {
	out := make([]indexedState, 0, len(which))
	for _, i := range which {
		ts, err := s.states.get(ctx, s.broker, topics[i], fresh)
		if err != nil {
			return nil, fmt.Errorf("state of %q: %w", topics[i], err)
		}
		if asked || len(ts.st.Entries) > 0 {
			out = append(out, indexedState{i: i, ts: ts})
		}
	}
	return out, nil
}

// appendState appends the states' frames and the marker to r, and moves
// the stream to each state's position; r.has becomes the marker's id.
func (s *Server) appendState(r *replay, sts []indexedState) error {
	m := stateMarker{Topics: make([]stateMarkerTopic, len(sts))}
	for k, st := range sts {
		if err := r.appendShared(st.ts.frames(r.multi)); err != nil {
			return err
		}
		n := len(st.ts.st.Entries)
		r.pos[st.i] = st.ts.st.Position
		m.Keys += n
		m.Topics[k] = stateMarkerTopic{Topic: st.ts.name, Position: st.ts.st.Position.String(), Keys: n}
		s.metrics.Delivered.Add(float64(n))
	}
	m.Position = streamid.Position(r.pos).String()
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode state marker: %w", err)
	}
	r.buf = appendControl(r.buf, r.pos, stateMarkerEvent, data)
	r.has = slices.Clone(r.pos)
	return nil
}

// appendShared appends b, built once and shared by many streams: a large
// one is written as it is rather than copied into the buffer.
func (r *replay) appendShared(b []byte) error {
	if len(r.buf)+len(b) < flushAt {
		r.buf = append(r.buf, b...)
		return nil
	}
	if err := r.w.write(r.buf); err != nil {
		return err
	}
	r.buf = r.buf[:0]
	return r.w.write(b)
}

// replayGap replays, for each state older than the hub's snapshot, the
// events between the two. It returns the topics whose gap history no
// longer holds.
func (s *Server) replayGap(ctx context.Context, r *replay, sts []indexedState, snap []streamid.ID) (resumeInfo, error) {
	var lost resumeInfo
	for _, st := range sts {
		if !r.pos[st.i].Less(snap[st.i]) {
			continue // at or past the snapshot: the live queue has the rest
		}
		reason, err := s.replayTopic(ctx, r, st.i, st.ts.name, snap[st.i])
		if err != nil {
			return lost, err
		}
		if reason != "" {
			lost.Reason = reason
			lost.Topics = append(lost.Topics, st.ts.name)
		}
	}
	return lost, nil
}
