package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssegate/ssegate/internal/httperr"
	"github.com/ssegate/ssegate/internal/sse"
	"github.com/ssegate/ssegate/internal/streamid"
)

// flushAt is how much replayed data is buffered before it is written.
const flushAt = 32 << 10

// stream serves GET /api/sse/stream.
func (s *Server) stream(c echo.Context) error {
	r := c.Request()
	if s.draining.Load() {
		s.metrics.Rejected.WithLabelValues("draining").Inc()
		return httperr.Unavailable("draining", "the gateway is shutting down; reconnect", s.cfg.Retry)
	}
	topics, err := s.streamTopics(r)
	if err != nil {
		return err
	}
	auth, err := s.authorize(c, topics)
	if err != nil {
		return err
	}
	if !s.broker.HealthyFor(topics) {
		s.metrics.Rejected.WithLabelValues("redis_unavailable").Inc()
		return httperr.Unavailable("redis_unavailable", "the event broker is unavailable; retry later", s.cfg.Retry)
	}
	release, err := s.admit(c)
	if err != nil {
		return err
	}
	if err := s.feed.acquire(r.Context(), topics); err != nil {
		release()
		if r.Context().Err() != nil {
			return nil // the client left while its topics were being subscribed
		}
		s.metrics.Rejected.WithLabelValues("redis_unavailable").Inc()
		return s.acquireError(topics, err)
	}

	cn := newConn(s.nextID(), topics, s.cfg.QueueSize, func(n int) { s.metrics.QueueDropped.Add(float64(n)) })
	cn.expires = auth.expires
	snap := s.hub.join(cn)
	log := s.log.With("conn", cn.id)
	s.metrics.ConnectionsOpened.Inc()
	s.metrics.Connections.Inc()
	cn.onFinish = func(reason string) {
		// Counted before the gauge drops: whoever sees the stream gone
		// also sees why.
		if evicted, ok := map[string]string{reasonSlow: "queue_full", reasonSendTimeout: "send_timeout"}[reason]; ok {
			s.metrics.Evicted.WithLabelValues(evicted).Inc()
			log.Info("client evicted", "reason", reason)
		}
		s.metrics.ConnectionsClosed.WithLabelValues(reason).Inc()
		s.metrics.Connections.Dec()
		log.Debug("stream closed", "reason", reason)
		s.hub.leave(cn)
		s.feed.release(topics)
		release()
	}
	reason, handedOff := reasonError, false
	defer func() {
		if !handedOff {
			cn.finish(reason)
		}
	}()

	h := c.Response().Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	var w frameWriter
	var nc net.Conn
	// The pool writes straight to the socket: never a TLS connection.
	if s.pool != nil && r.ProtoMajor == 1 && r.ProtoMinor == 1 && r.TLS == nil {
		nc = s.hijack(c)
	}
	if nc != nil {
		cw := &chunkWriter{nc: nc, cn: cn, timeout: s.cfg.SendTimeout, last: &cn.lastWrite, head: responseHead(h)}
		cn.setAbort(func() { _ = nc.SetWriteDeadline(time.Now()) })
		w = cw
		defer func() {
			if !handedOff {
				_ = nc.Close()
			}
		}()
	} else {
		h.Set("Connection", "keep-alive")
		c.Response().WriteHeader(http.StatusOK)
		sw := &streamWriter{rc: http.NewResponseController(c.Response()), w: c.Response(), cn: cn, timeout: s.cfg.SendTimeout, last: &cn.lastWrite}
		// Safe from the hub's goroutine: it only moves the connection's deadline.
		cn.setAbort(func() { _ = sw.rc.SetWriteDeadline(time.Now()) })
		w = sw
	}
	buf := sse.AppendRetry(make([]byte, 0, 4096), s.cfg.Retry)
	buf = sse.AppendComment(buf, "ok")
	log.Debug("stream opened", "topics", topics, "last_event_id", truncate(lastEventID(c)), "pooled", nc != nil)

	// resume writes the preamble, then gives the client its position.
	pos, buf, err := s.resume(r.Context(), w, buf, topics, snap, lastEventID(c))
	if err != nil {
		reason = cn.writeReason(err)
		if !errors.Is(err, errClient) {
			reason = reasonError // history could not be read: the client retries by id
			log.Warn("resume failed", "err", err)
		}
		return nil
	}
	copy(cn.pos, pos)
	if nc == nil {
		reason = s.live(r.Context(), w, cn, cn.pos, buf)
		return nil
	}
	sc, ok := nc.(syscall.Conn)
	if !ok { // a listener that wraps its connections: the pool cannot write them
		log.Warn("hijacked connection has no socket; set SSEGATE_WRITERS=-1 for this listener", "type", fmt.Sprintf("%T", nc))
		reason = reasonError
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		reason = reasonError
		return nil
	}
	if err := nc.SetWriteDeadline(time.Time{}); err != nil { // the pool's writes do not wait
		reason = reasonNormal
		return nil
	}
	cn.wire = &wire{nc: nc, raw: raw}
	if err := s.pool.watch.add(cn); err != nil {
		log.Warn("cannot watch connection", "err", err)
		reason = reasonError
		return nil
	}
	handedOff = true
	cn.adopt(s.pool)
	return nil
}

// hijack takes the connection from net/http, so its buffers and goroutines
// are released and the pool writes it. It returns nil when the connection
// cannot be hijacked (HTTP/2, a wrapped writer); the stream then stays on
// the handler's goroutine.
func (s *Server) hijack(c echo.Context) net.Conn {
	nc, brw, err := http.NewResponseController(c.Response()).Hijack()
	if err != nil {
		return nil
	}
	if brw != nil && brw.Reader.Buffered() > 0 {
		// The client sent more than its request (pipelining): nothing an
		// EventSource does; serve it on the plain path would be wrong too.
		_ = nc.Close()
		return nil
	}
	_ = nc.SetDeadline(time.Time{})
	return nc
}

// responseHead renders the status line and headers of a hijacked stream.
// The body is chunked, so proxies see a clean end when the stream closes.
func responseHead(h http.Header) []byte {
	b := append(make([]byte, 0, 256), "HTTP/1.1 200 OK\r\n"...)
	for k, vs := range h {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "Transfer-Encoding: chunked\r\n\r\n"...)
}

// errClient marks errors caused by the client going away.
var errClient = errors.New("client gone")

// writeReason says why a write to the client failed: the queue overflowed
// (and aborted the write), the write hit its deadline, or the client left.
func (c *conn) writeReason(err error) string {
	c.mu.Lock()
	closed, reason := c.closed, c.reason
	c.mu.Unlock()
	switch {
	case closed && (reason == reasonSlow || reason == reasonShutdown):
		return reason
	case errors.Is(err, os.ErrDeadlineExceeded):
		return reasonSendTimeout
	}
	return reasonNormal
}

// writeFailed says why writing n events to c failed, and counts them as
// dropped when a queue overflow cut the write short: the evicted client
// resumes from the last event it has.
func (s *Server) writeFailed(c *conn, err error, n int) string {
	reason := c.writeReason(err)
	if reason == reasonSlow && n > 0 {
		s.metrics.QueueDropped.Add(float64(n))
	}
	return reason
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

// frameWriter writes stream bytes to one client.
type frameWriter interface {
	write(b []byte) error
}

// chunkWriter writes to a hijacked connection as HTTP/1.1 chunks, with a
// deadline on every write. The response head goes out with the first write.
type chunkWriter struct {
	nc      net.Conn
	cn      *conn // its abort (kill, queue overflow) outlasts the next deadline; nil = none
	timeout time.Duration
	last    *atomic.Int64
	head    []byte
	scratch []byte
}

func (w *chunkWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	msg := append(w.scratch[:0], w.head...)
	w.head = nil
	msg = fmt.Appendf(msg, "%x\r\n", len(b))
	msg = append(msg, b...)
	msg = append(msg, '\r', '\n')
	w.scratch = msg
	now := time.Now()
	if err := armDeadline(w.cn, w.nc, w.timeout); err != nil {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	if _, err := w.nc.Write(msg); err != nil {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	w.last.Store(now.UnixNano())
	return nil
}

// streamWriter writes to one client with a deadline on every write.
type streamWriter struct {
	rc      *http.ResponseController
	w       http.ResponseWriter
	cn      *conn // its abort (kill, queue overflow) outlasts the next deadline; nil = none
	timeout time.Duration
	last    *atomic.Int64
}

func (w *streamWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	now := time.Now()
	if err := armDeadline(w.cn, w.rc, w.timeout); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	if err := w.rc.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errClient, err)
	}
	w.last.Store(now.UnixNano())
	w.disarm()
	return nil
}

// disarm clears the deadline once a write is done: it bounds one write,
// not the silence until the next. Over HTTP/2 an expired deadline is not
// a note for the next write but a timer that resets the stream
// (RST_STREAM INTERNAL_ERROR) even while nothing is being written, so an
// armed one killed every stream left quiet for a send timeout. An abort
// that lands between the write and this clear is not lost: its wake brings
// the writer back, which then ends the stream or finds the flag in
// armDeadline. An error here is ignored: the bytes went out, and a broken
// connection fails the next write.
func (w *streamWriter) disarm() {
	_ = w.rc.SetWriteDeadline(time.Time{})
}

// live writes queued frames from the stream's own goroutine until the
// connection ends, and says why.
func (s *Server) live(ctx context.Context, w frameWriter, cn *conn, pos positions, buf []byte) string {
	cn.pos = pos
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
		}
		out, n, final := s.render(cn, cn.take(), buf[:0])
		if final == reasonSlow {
			return reasonSlow // what is queued is incomplete: the client resumes by id
		}
		if err := w.write(out); err != nil {
			return s.writeFailed(cn, err, n)
		}
		s.metrics.Delivered.Add(float64(n))
		if final != "" {
			return final
		}
		buf = out
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 4096) // do not keep a burst's buffer for the connection's life
		}
	}
}

// render appends to buf what one pass of the writer sends: the queued
// frames the client does not have yet (multi-topic streams get their
// position id in front of the shared frame body), a keepalive if nothing
// else goes out, and the closing event when the stream ends. It returns the
// buffer, the number of events in it and why the stream ends after this
// write ("" when it goes on).
func (s *Server) render(cn *conn, wk work, buf []byte) ([]byte, int, string) {
	if wk.closed && wk.reason == reasonSlow {
		return buf, 0, reasonSlow
	}
	start := len(buf)
	multi := cn.tindex != nil
	now := time.Now()
	n := 0
	for _, f := range wk.frames {
		ti := 0
		if multi {
			ti = cn.tindex[f.topic]
		}
		if !cn.pos.advance(ti, f) {
			continue
		}
		if multi && f.hasID {
			// Positions are digits, '-' and '_': safe on an id line as they are.
			buf = append(buf, "id: "...)
			buf = append(streamid.Position(cn.pos).Append(buf), '\n')
			buf = append(buf, f.body...)
		} else {
			buf = append(buf, f.full...)
		}
		if !f.accepted.IsZero() {
			s.metrics.DeliveryLatency.Observe(now.Sub(f.accepted).Seconds())
		}
		n++
	}
	if wk.ping && len(buf) == start {
		buf = sse.AppendComment(buf, "ping")
	}
	switch {
	case wk.expired:
		return sse.AppendEvent(buf, "", "token-expired", []byte(`{"reason":"token_expired"}`)), n, reasonAuthExpired
	case wk.draining:
		buf = sse.AppendRetry(buf, s.cfg.Retry)
		return sse.AppendEvent(buf, "", "shutdown", []byte(`{"reason":"shutdown"}`)), n, reasonShutdown
	case wk.closed:
		return buf, n, wk.reason
	}
	return buf, n, ""
}
