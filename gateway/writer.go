package gateway

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/ssegate/ssegate/internal/sse"
)

// A stream is written along one of two paths, each a type behind writer:
//
//   - httpWriter (writer_http.go): net/http's response, written by the
//     stream's handler goroutine with a deadline on every write. HTTP/2,
//     TLS, SSEGATE_WRITERS=-1, and every stream outside Linux.
//   - pooledWriter (pool_linux.go): a hijacked plain HTTP/1.1 connection.
//     The handler goroutine writes the preamble and the replay through a
//     chunkWriter (writer_chunked.go), then hands the socket to the pool,
//     whose few workers write every pooled stream without blocking.
//
// Both write the same bytes: render builds what one pass sends, from the
// frames of frame.go; on the hijacked socket frameChunk wraps them as
// HTTP/1.1 chunks.

// writer is a stream's write path, from its first byte to its end.
type writer interface {
	// write sends b to the client, bounded by the send timeout: the
	// preamble and the replay, and live events on the handler goroutine.
	// An error wraps errClient.
	write(b []byte) error
	// serve writes the stream live once the client has its position (cn.pos),
	// starting with buf's spare capacity. It returns why the stream ended;
	// or handed true when another goroutine (the pool) now writes cn and
	// will end it, and the caller must not touch cn or its socket again.
	serve(ctx context.Context, cn *conn, buf []byte) (reason string, handed bool)
	// close releases the socket of a stream that ended on its handler.
	close()
}

// errClient marks errors caused by the client going away.
var errClient = errors.New("client gone")

// deadliner is what moves a connection's write deadline (net.Conn,
// http.ResponseController).
type deadliner interface {
	SetWriteDeadline(t time.Time) error
}

// armDeadline gives the next write on d timeout, or makes it fail at once
// when c (if not nil) was aborted. Checking after setting the deadline
// closes the race with abort: either the check sees the flag, or abort
// runs later and its deadline wins. Without it a kill or an overflow that
// came between two writes was undone by the next deadline, and the write
// could block a non-reading client for a whole send timeout.
func armDeadline(c *conn, d deadliner, timeout time.Duration) error {
	if err := d.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if c != nil && c.isAborted() {
		return d.SetWriteDeadline(time.Now())
	}
	return nil
}

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

// live writes queued frames from the stream's own goroutine until the
// connection ends, and says why.
func (s *Server) live(ctx context.Context, w writer, cn *conn, pos positions, buf []byte) string {
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
			buf = appendFrameID(buf, f.id, cn.pos, true)
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
		return appendControl(buf, nil, "token-expired", []byte(`{"reason":"token_expired"}`)), n, reasonAuthExpired
	case wk.draining:
		buf = sse.AppendRetry(buf, s.cfg.Retry)
		return appendControl(buf, nil, "shutdown", []byte(`{"reason":"shutdown"}`)), n, reasonShutdown
	case wk.closed:
		return buf, n, wk.reason
	}
	return buf, n, ""
}
