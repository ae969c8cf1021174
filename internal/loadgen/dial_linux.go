package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT before the dialer binds a source
// address, so the kernel picks the source port at connect time and the same
// port can be reused towards different destinations.
func bindNoPort(network, _ string, rc syscall.RawConn) error {
	if network != "tcp4" {
		return nil
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}); err != nil {
		return fmt.Errorf("raw control: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("IP_BIND_ADDRESS_NO_PORT: %w", serr)
	}
	return nil
}

// connect opens connection i, hands it to its reader and records the connect
// time. The error's reason (see connectError) is counted by the caller.
func (r *run) connect(ctx context.Context, w *worker, i int) error {
	c := &r.conns[i]
	start := time.Now()
	fd, leftover, chunked, err := r.dialStream(ctx, w, &r.gws[i%len(r.gws)], i)
	if err != nil {
		return err
	}
	c.body = bodyDecoder{chunked: chunked}
	r.connectHist.RecordDuration(time.Since(start))

	// The connection is ours: snapshot what "expected" counts from.
	for j := range c.topics {
		t := &c.topics[j]
		t.baseAcc = r.accepted[t.index].Load()
		t.seqBase = r.seqNext[t.index].Load()
		t.maxSeq = t.seqBase - 1
	}
	c.fd = int32(fd)
	w.sink.c = c
	w.sink.now = time.Now().UnixNano()
	w.sink.recordFrom = r.recordFrom.Load()
	reason := feedBody(c, leftover, &w.sink)
	w.sink.c = nil
	if reason != 0 {
		_ = unix.Close(fd)
		c.state = connFailed
		return failf("stream", fmt.Errorf("stream ended or malformed right after the headers (%s)", dropNames[reason]))
	}
	for j := range c.topics {
		r.subs[c.topics[j].index].Add(1)
	}
	r.held.Add(1)
	c.state = connOpen
	c.ready.Store(true)
	if err := r.readers[i%len(r.readers)].add(i); err != nil {
		// Never registered, so no reader will touch it; undo.
		for j := range c.topics {
			r.subs[c.topics[j].index].Add(-1)
		}
		r.held.Add(-1)
		_ = unix.Close(fd)
		c.state = connFailed
		return failf("epoll", err)
	}
	for j := range c.topics {
		r.baseSum.Add(c.topics[j].baseAcc)
	}
	return nil
}

// dialStream opens connection i's stream on gw: dial, the request (with
// the connection's Last-Event-ID once it has one) and the response headers
// (see handshake).
func (r *run) dialStream(ctx context.Context, w *worker, gw *gateway, i int) (fd int, leftover []byte, chunked bool, err error) {
	c := &r.conns[i]
	w.names = w.names[:0]
	for j := range c.topics {
		w.names = append(w.names, r.topicNames[c.topics[j].index])
	}
	w.req = gw.requestBytes(w.req[:0], w.names, c.parser.LastEventID())
	deadline := time.Now().Add(r.cfg.ConnectTimeout)
	d := net.Dialer{Deadline: deadline}
	if src := sourceAddr(gw.addr.Addr(), i, r.cfg.ConnsPerAddr); src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		d.Control = bindNoPort
	}
	nc, err := d.DialContext(ctx, "tcp", gw.addr.String())
	if err != nil {
		return -1, nil, false, failf("dial", err)
	}
	return handshake(nc, w, deadline)
}

// reconnect is one reconnection attempt of connection i during a storm,
// to a storm gateway, with its Last-Event-ID. Its expected-event bookkeeping
// carries on from the first stream. A failed attempt is retried later (see
// stormRun.attemptFailed).
func (r *run) reconnect(ctx context.Context, w *worker, i int) {
	c := &r.conns[i]
	s := r.storm
	c.attempts++
	start := time.Now()
	fd, leftover, chunked, err := r.dialStream(ctx, w, &s.gws[i%len(s.gws)], i)
	if err != nil {
		s.attemptFailed(r, i, err)
		return
	}
	c.body = bodyDecoder{chunked: chunked}
	c.fd = int32(fd)
	c.reconnectAt = start.UnixNano()
	c.awaiting = true
	w.sink.c = c
	w.sink.now = time.Now().UnixNano()
	w.sink.recordFrom = r.recordFrom.Load()
	reason := feedBody(c, leftover, &w.sink)
	w.sink.c = nil
	if reason == 0 {
		r.held.Add(1)
		c.state = connOpen
		c.ready.Store(true)
		if err = r.readers[i%len(r.readers)].add(i); err == nil {
			return
		}
		c.ready.Store(false)
		c.state = connReconnecting
		r.held.Add(-1)
		err = failf("epoll", err)
	} else {
		err = failf("stream", fmt.Errorf("stream ended right after the headers (%s)", dropNames[reason]))
	}
	_ = unix.Close(fd)
	c.fd = -1
	c.parser.Reconnect()
	s.attemptFailed(r, i, err)
}

// handshake sends the request on nc, reads the response headers and, on a
// 200 text/event-stream answer, moves the socket out of the Go runtime: it
// returns a non-blocking duplicate of the descriptor (nc is closed) and the
// body bytes that arrived with the headers.
func handshake(nc net.Conn, w *worker, deadline time.Time) (fd int, leftover []byte, chunked bool, err error) {
	defer func() {
		if cerr := nc.Close(); cerr != nil && err == nil {
			_ = unix.Close(fd)
			fd, leftover, err = -1, nil, failf("close", cerr)
		}
	}()
	if err := nc.SetDeadline(deadline); err != nil {
		return -1, nil, false, failf("deadline", err)
	}
	if _, err := nc.Write(w.req); err != nil {
		return -1, nil, false, failf("write", err)
	}
	n, end := 0, -1
	for end < 0 {
		if n == len(w.hdr) {
			return -1, nil, false, failf("headers", fmt.Errorf("response headers over %d bytes", len(w.hdr)))
		}
		m, rerr := nc.Read(w.hdr[n:])
		n += m
		if i := bytes.Index(w.hdr[:n], []byte("\r\n\r\n")); i >= 0 {
			end = i + 4
			break
		}
		if rerr != nil {
			var ne net.Error
			if errors.As(rerr, &ne) && ne.Timeout() {
				return -1, nil, false, failf("timeout", rerr)
			}
			return -1, nil, false, failf("read", rerr)
		}
	}
	chunked, err = parseResponseHead(w.hdr[:end])
	if err != nil {
		return -1, nil, false, err
	}
	tc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, nil, false, failf("fd", errors.New("connection has no file descriptor"))
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return -1, nil, false, failf("fd", err)
	}
	var derr error
	fd = -1
	if err := raw.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, nil, false, failf("fd", err)
	}
	if derr != nil {
		return -1, nil, false, failf("dup", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, nil, false, failf("fd", err)
	}
	return fd, w.hdr[end:n], chunked, nil
}
