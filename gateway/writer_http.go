package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// httpWriter is the goroutine-per-stream path behind net/http (HTTP/2,
// TLS, SSEGATE_WRITERS=-1, and every stream outside Linux): the stream's
// handler goroutine writes and flushes the response with a deadline on
// every write, and net/http frames it (chunked for HTTP/1.1).
type httpWriter struct {
	s       *Server // renders and counts the live events; nil in tests that only write
	rc      *http.ResponseController
	w       http.ResponseWriter
	cn      *conn // its abort (kill, queue overflow) outlasts the next deadline; nil = none
	timeout time.Duration
	last    *atomic.Int64
}

// newHTTPWriter sends the response head of cn's stream and makes a queue
// overflow or a kill abort a write in progress.
func newHTTPWriter(s *Server, w http.ResponseWriter, cn *conn) *httpWriter {
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	hw := &httpWriter{s: s, rc: http.NewResponseController(w), w: w, cn: cn, timeout: s.cfg.SendTimeout, last: &cn.lastWrite}
	// Safe from the hub's goroutine: it only moves the connection's deadline.
	cn.setAbort(func() { _ = hw.rc.SetWriteDeadline(time.Now()) })
	return hw
}

func (w *httpWriter) write(b []byte) error {
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
func (w *httpWriter) disarm() {
	_ = w.rc.SetWriteDeadline(time.Time{})
}

// serve writes the stream live from the handler goroutine until it ends.
func (w *httpWriter) serve(ctx context.Context, cn *conn, buf []byte) (string, bool) {
	return w.s.live(ctx, w, cn, cn.pos, buf), false
}

// close has nothing to do: net/http owns the connection.
func (*httpWriter) close() {}
