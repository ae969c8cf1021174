package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

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

// chunkHeader is room reserved in front of a chunk's payload for its size
// line: up to 8 hex digits and CRLF.
const chunkHeader = 10

// frameChunk frames the payload buf[start+chunkHeader:] as one HTTP/1.1
// chunk (RFC 9112 §7.1), in place, and adds the last-chunk marker when
// final. The chunkHeader bytes before the payload are room for its size
// line, so the payload is never copied; buf[:start] (a response head, or
// nothing) stays in front of the chunk. It returns the bytes to write, a
// subslice of buf (or of its growth): nothing when there is no payload
// and no head, and it is not final.
func frameChunk(buf []byte, start int, final bool) []byte {
	payload := len(buf) - start - chunkHeader
	if payload == 0 {
		buf = buf[:start]
		if final {
			buf = append(buf, "0\r\n\r\n"...)
		}
		return buf
	}
	var hdr [chunkHeader]byte
	h := append(strconv.AppendUint(hdr[:0], uint64(payload), 16), '\r', '\n')
	gap := chunkHeader - len(h)
	copy(buf[start+gap:], h)
	copy(buf[gap:], buf[:start]) // the head moves up to its chunk
	buf = append(buf, '\r', '\n')
	if final {
		buf = append(buf, "0\r\n\r\n"...)
	}
	return buf[gap:]
}

// chunkWriter writes a hijacked connection from the stream's handler
// goroutine, as HTTP/1.1 chunks with a deadline on every write: the
// preamble and the replay of a pooled stream, before the pool takes it.
// The response head goes out with the first write.
type chunkWriter struct {
	nc      net.Conn
	cn      *conn // its abort (kill, queue overflow) outlasts the next deadline; nil = none
	timeout time.Duration
	last    *atomic.Int64
	head    []byte
	scratch []byte
}

// newChunkWriter writes cn's stream on the hijacked nc, head first, and
// makes a queue overflow or a kill abort a write in progress.
func newChunkWriter(nc net.Conn, cn *conn, timeout time.Duration, head []byte) *chunkWriter {
	w := &chunkWriter{nc: nc, cn: cn, timeout: timeout, last: &cn.lastWrite, head: head}
	cn.setAbort(func() { _ = nc.SetWriteDeadline(time.Now()) })
	return w
}

func (w *chunkWriter) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var room [chunkHeader]byte
	msg := append(w.scratch[:0], w.head...)
	start := len(msg)
	msg = append(append(msg, room[:]...), b...)
	w.scratch = msg
	msg = frameChunk(msg, start, false)
	w.head = nil
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
