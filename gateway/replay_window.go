package gateway

import "github.com/ssegate/ssegate/internal/streamid"

// replayWindow replays topic i (name) from the client's position from up
// to end out of the topic's window (window.go), when the window holds
// every event after from: it reports whether it did. The frames are the
// ones the hub encoded when the events went live, so the bytes are those a
// replay from Redis writes (appendEntry): a single-topic stream writes a
// frame whole; a multi-topic one writes its own position as the id line
// and the frame's shared body.
func (s *Server) replayWindow(r *replay, i int, name string, from, end streamid.ID) (bool, error) {
	frames, ok := s.hub.windowAfter(name, from, end)
	if !ok {
		if s.hub.win.enabled() {
			s.metrics.WindowMisses.Inc()
		}
		return false, nil
	}
	s.metrics.WindowHits.Inc()
	for _, f := range frames {
		r.pos[i] = f.id
		if r.multi {
			r.buf = appendPositionID(r.buf, r.pos)
			r.buf = append(r.buf, f.body...)
		} else {
			r.buf = append(r.buf, f.full...)
		}
		copy(r.has, r.pos)
		if len(r.buf) >= flushAt {
			if err := r.w.write(r.buf); err != nil {
				return true, err
			}
			r.buf = r.buf[:0]
		}
	}
	// As after a read from Redis that found nothing more up to end.
	r.pos[i] = end
	s.metrics.Replayed.Add(float64(len(frames)))
	s.metrics.Delivered.Add(float64(len(frames)))
	return true, nil
}
