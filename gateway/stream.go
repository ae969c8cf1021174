package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/broker"
	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/sse"
	"github.com/ssegate/ssegate/internal/streamid"
	"github.com/ssegate/ssegate/internal/topic"
)

// flushAt is how much replayed data is buffered before it is written.
const flushAt = 32 << 10

// streamParams are the query parameters the stream route understands;
// anything else is a client bug worth a 400 rather than silence.
var streamParams = map[string]bool{"topic": true, "lastEventId": true, "last_event_id": true, "access_token": true, "_": true}

// stream serves GET /api/sse/stream.
func (s *Server) stream(c echo.Context) error {
	r := c.Request()
	if s.draining.Load() {
		s.metrics.Rejected.WithLabelValues("draining").Inc()
		return httperr.Unavailable("draining", "the gateway is shutting down; reconnect", s.cfg.Retry)
	}
	q := r.URL.Query()
	for k := range q {
		if !streamParams[k] {
			s.metrics.Rejected.WithLabelValues("bad_request").Inc()
			return httperr.BadRequest("unknown_parameter", fmt.Sprintf("unknown query parameter %q (known: topic, lastEventId, last_event_id, access_token)", truncate(k)))
		}
	}
	topics, err := topic.ParseList(q["topic"], topic.Default, s.cfg.MaxTopics, s.cfg.MaxTopicLen)
	if err != nil {
		s.metrics.Rejected.WithLabelValues("bad_request").Inc()
		return httperr.BadRequest("invalid_topic", err.Error())
	}
	auth, err := s.authorize(c, topics)
	if err != nil {
		return err
	}
	if !s.broker.Healthy() {
		s.metrics.Rejected.WithLabelValues("redis_unavailable").Inc()
		return httperr.Unavailable("redis_unavailable", "the event broker is unavailable; retry later", s.cfg.Retry)
	}
	release, err := s.admit(c)
	if err != nil {
		return err
	}
	defer release()
	if err := s.feed.acquire(r.Context(), topics); err != nil {
		s.metrics.Rejected.WithLabelValues("redis_unavailable").Inc()
		s.log.Warn("subscribe failed", "topics", topics, "err", err)
		return httperr.Unavailable("redis_unavailable", "the event broker is unavailable; retry later", s.cfg.Retry)
	}
	defer s.feed.release(topics)

	cn := newConn(s.nextID(), topics, s.cfg.QueueSize, s.metrics.QueueDropped.Inc)
	cn.expires = auth.expires
	snap := s.hub.join(cn)
	defer s.hub.leave(cn)
	log := s.log.With("conn", cn.id)
	s.metrics.ConnectionsOpened.Inc()
	s.metrics.Connections.Inc()
	reason := reasonError
	defer func() {
		// Counted before the gauge drops: whoever sees the stream gone
		// also sees why.
		if evicted, ok := map[string]string{reasonSlow: "queue_full", reasonSendTimeout: "send_timeout"}[reason]; ok {
			s.metrics.Evicted.WithLabelValues(evicted).Inc()
			log.Info("client evicted", "reason", reason)
		}
		s.metrics.ConnectionsClosed.WithLabelValues(reason).Inc()
		s.metrics.Connections.Dec()
		log.Debug("stream closed", "reason", reason)
	}()

	h := c.Response().Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "keep-alive")
	c.Response().WriteHeader(http.StatusOK)
	w := &streamWriter{rc: http.NewResponseController(c.Response()), w: c.Response(), timeout: s.cfg.SendTimeout, last: &cn.lastWrite}
	// Safe from the hub's goroutine: it only moves the connection's deadline.
	cn.setAbort(func() { _ = w.rc.SetWriteDeadline(time.Now()) })
	buf := sse.AppendRetry(make([]byte, 0, 4096), s.cfg.Retry)
	buf = sse.AppendComment(buf, "ok")
	if err := w.write(buf); err != nil {
		reason = cn.writeReason(err)
		return nil
	}
	log.Debug("stream opened", "topics", topics, "last_event_id", truncate(lastEventID(c)))

	pos, buf, err := s.resume(r.Context(), w, buf[:0], topics, snap, lastEventID(c))
	if err != nil {
		reason = cn.writeReason(err)
		if !errors.Is(err, errClient) {
			log.Warn("resume failed", "err", err)
		}
		return nil
	}
	reason = s.live(r.Context(), w, cn, pos, buf)
	return nil
}

// errClient marks errors caused by the client going away.
var errClient = errors.New("client gone")

// writeReason says why a write to the client failed: the queue overflowed
// (and aborted the write), the write hit its deadline, or the client left.
func (c *conn) writeReason(err error) string {
	switch {
	case c.evictedSlow():
		return reasonSlow
	case errors.Is(err, os.ErrDeadlineExceeded):
		return reasonSendTimeout
	}
	return reasonNormal
}

func lastEventID(c echo.Context) string {
	if v := c.Request().Header.Get("Last-Event-ID"); v != "" {
		return v
	}
	if v := c.QueryParam("lastEventId"); v != "" {
		return v
	}
	return c.QueryParam("last_event_id")
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// streamWriter writes to one client with a deadline on every write.
type streamWriter struct {
	rc      *http.ResponseController
	w       http.ResponseWriter
	timeout time.Duration
	last    *atomic.Int64
}

func (w *streamWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	now := time.Now()
	if err := w.rc.SetWriteDeadline(now.Add(w.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	if err := w.rc.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	w.last.Store(now.UnixNano())
	return nil
}

// resumeInfo is the data of a reset event.
type resumeInfo struct {
	Reason string   `json:"reason"`
	Topics []string `json:"topics"`
}

// resume works out where the client is in each topic and replays what it
// missed, up to snap (after which the live queue has everything).
func (s *Server) resume(ctx context.Context, w *streamWriter, buf []byte, topics []string, snap []streamid.ID, last string) (positions, []byte, error) {
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

// live writes queued frames until the connection ends and says why.
func (s *Server) live(ctx context.Context, w *streamWriter, cn *conn, pos positions, buf []byte) string {
	multi := len(cn.topics) > 1
	tindex := make(map[string]int, len(cn.topics))
	for i, t := range cn.topics {
		tindex[t] = i
	}
	var expiry <-chan time.Time
	if !cn.expires.IsZero() {
		t := time.NewTimer(time.Until(cn.expires))
		defer t.Stop()
		expiry = t.C
	}
	for {
		select {
		case <-cn.notify:
		case <-ctx.Done():
			if cn.evictedSlow() {
				return reasonSlow // the aborted write can cancel the request first
			}
			if !cn.isDraining() {
				return reasonNormal
			}
			// Drain asked for the shutdown event just before the server
			// cancelled the requests: the connection is still open, so
			// say goodbye rather than end without one.
		case <-expiry:
			buf = sse.AppendEvent(buf[:0], "", "token-expired", []byte(`{"reason":"token_expired"}`))
			_ = w.write(buf)
			return reasonAuthExpired
		}
		wk := cn.take()
		if wk.closed && wk.reason == reasonSlow {
			return reasonSlow // what is queued is incomplete: the client resumes by id
		}
		buf = buf[:0]
		now := time.Now()
		n := 0
		for _, f := range wk.frames {
			ti := 0
			if multi {
				ti = tindex[f.topic]
			}
			if !pos.advance(ti, f) {
				continue
			}
			if multi && f.hasID {
				buf = sse.AppendIDLine(buf, sse.ID(streamid.Position(pos).String()))
				buf = append(buf, f.body...)
			} else {
				buf = append(buf, f.full...)
			}
			if !f.accepted.IsZero() {
				s.metrics.DeliveryLatency.Observe(now.Sub(f.accepted).Seconds())
			}
			n++
		}
		if wk.ping && len(buf) == 0 {
			buf = sse.AppendComment(buf, "ping")
		}
		if wk.draining {
			buf = sse.AppendRetry(buf, s.cfg.Retry)
			buf = sse.AppendEvent(buf, "", "shutdown", []byte(`{"reason":"shutdown"}`))
		}
		if err := w.write(buf); err != nil {
			return cn.writeReason(err)
		}
		s.metrics.Delivered.Add(float64(n))
		if wk.draining {
			return reasonShutdown
		}
		if wk.closed {
			return wk.reason
		}
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 4096) // do not keep a burst's buffer for the connection's life
		}
	}
}
