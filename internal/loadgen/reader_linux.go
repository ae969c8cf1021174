package loadgen

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// readBufBytes is each reader goroutine's read buffer. It is shared by all
// the connections of that reader: per-connection state never holds a read
// buffer.
const readBufBytes = 64 << 10

// pollTimeoutMs bounds how long a reader waits in epoll_wait before it checks
// whether it should stop.
const pollTimeoutMs = 50

// reader owns one epoll instance and the connections registered with it. It
// never blocks on anything but epoll_wait and never hands data to another
// goroutine, so a slow consumer cannot stall it.
type reader struct {
	r     *run
	epfd  int
	buf   []byte
	sink  sink
	stats *counters
}

func newReader(r *run) (*reader, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	st := newCounters()
	return &reader{r: r, epfd: epfd, buf: make([]byte, readBufBytes), stats: st, sink: sink{st: st}}, nil
}

// close releases the epoll instance once the reader has stopped.
func (rd *reader) close() { _ = unix.Close(rd.epfd) }

// add registers connection i. The caller must have set conns[i].ready.
func (rd *reader) add(i int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(i)}
	if err := unix.EpollCtl(rd.epfd, unix.EPOLL_CTL_ADD, int(rd.r.conns[i].fd), &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// loop reads until stop is set. The epoll instance is level-triggered: one
// read per ready connection per wakeup keeps the connections fair.
func (rd *reader) loop(stop *atomic.Bool) error {
	events := make([]unix.EpollEvent, 512)
	for !stop.Load() {
		n, err := unix.EpollWait(rd.epfd, events, pollTimeoutMs)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("epoll_wait: %w", err)
		}
		if n == 0 {
			continue
		}
		rd.sink.now = time.Now().UnixNano()
		rd.sink.recordFrom = rd.r.recordFrom.Load()
		for _, ev := range events[:n] {
			idx := int(ev.Fd)
			if idx < 0 || idx >= len(rd.r.conns) {
				continue
			}
			c := &rd.r.conns[idx]
			if !c.ready.Load() || c.state != connOpen {
				continue
			}
			rd.readConn(idx)
		}
	}
	return nil
}

// readConn performs one read on connection idx and processes what arrived.
func (rd *reader) readConn(idx int) {
	c := &rd.r.conns[idx]
	n, err := unix.Read(int(c.fd), rd.buf)
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return
	case err != nil:
		rd.r.drop(idx, dropReadErr, rd.epfd)
		return
	case n == 0:
		rd.r.drop(idx, dropEOF, rd.epfd)
		return
	}
	rd.sink.c = c
	if reason := feedBody(c, rd.buf[:n], &rd.sink); reason != 0 {
		rd.r.drop(idx, reason, rd.epfd)
	}
	rd.sink.c = nil
}

// feedBody runs received bytes through c's body decoder and SSE parser. It
// returns a drop reason, or 0 when the connection is fine.
func feedBody(c *conn, b []byte, s *sink) uint8 {
	for len(b) > 0 {
		seg, rest, err := c.body.Next(b)
		if err != nil {
			if errors.Is(err, errBodyEnded) {
				return dropEOF
			}
			return dropProtocol
		}
		if len(seg) > 0 {
			if err := c.parser.Feed(seg, s); err != nil {
				return dropProtocol
			}
		}
		b = rest
	}
	return 0
}

// drop closes a held connection that ended during the run and freezes its
// expected-event count; during a storm it hands the connection to the
// storm's reconnect queue instead, and its expected count runs on.
func (r *run) drop(idx int, reason uint8, epfd int) {
	c := &r.conns[idx]
	_ = unix.EpollCtl(epfd, unix.EPOLL_CTL_DEL, int(c.fd), nil)
	_ = unix.Close(int(c.fd))
	c.fd = -1
	if s := r.storm; s != nil && s.armed.Load() {
		s.dropped(r, idx, reason, time.Now())
		return
	}
	c.state = connClosed
	c.dropReason = reason
	for i := range c.topics {
		t := &c.topics[i]
		t.endAcc = r.accepted[t.index].Load()
		r.subs[t.index].Add(-1)
	}
	c.parser.Reset()
	r.held.Add(-1)
	r.dropped.Add(1)
}
