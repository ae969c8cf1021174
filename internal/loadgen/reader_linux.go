package loadgen

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// readBufBytes is each reader goroutine's read buffer. It is shared by all
// the connections of that reader: per-connection state never holds a read
// buffer.
const readBufBytes = 64 << 10

// reader owns one epoll instance and the connections registered with it. It
// never blocks on anything but its epoll instance and never hands data to
// another goroutine, so a slow consumer cannot stall it.
//
// The reader never blocks inside epoll_wait: its epoll descriptor is itself
// registered with the Go runtime's poller (an epoll instance is readable
// while it has ready events), epoll_wait is called with a zero timeout, and
// when nothing is ready the goroutine parks in the runtime until something
// is. A goroutine blocked in a system call instead holds its P until the
// runtime's monitor takes it away and starts another thread; with one such
// block per burst of events that churn (sysmon, findRunnable, futex) cost
// ssebench about 45 % of its CPU at 10k connections × 1 event/s, CPU taken
// from the gateway it measures on the same cores (docs/benchmarks.md,
// "Latency tail").
type reader struct {
	r     *run
	epfd  int
	ep    *os.File        // epfd, owned: closing it closes epfd
	raw   syscall.RawConn // waits for epfd through the runtime poller
	buf   []byte
	sink  sink
	stats *counters
}

func newReader(r *run) (*reader, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	// Non-blocking, so that os.NewFile hands it to the runtime poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("epoll non-blocking: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "epoll")
	raw, err := ep.SyscallConn()
	if err != nil {
		_ = ep.Close()
		return nil, fmt.Errorf("epoll raw conn: %w", err)
	}
	st := newCounters()
	return &reader{r: r, epfd: epfd, ep: ep, raw: raw, buf: make([]byte, readBufBytes), stats: st, sink: sink{st: st}}, nil
}

// close releases the epoll instance once the reader has stopped.
func (rd *reader) close() { _ = rd.ep.Close() }

// wake makes a parked loop look at its stop flag.
func (rd *reader) wake() { _ = rd.ep.SetReadDeadline(time.Now()) }

// add registers connection i. The caller must have set conns[i].ready.
func (rd *reader) add(i int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(i)}
	if err := unix.EpollCtl(rd.epfd, unix.EPOLL_CTL_ADD, int(rd.r.conns[i].fd), &ev); err != nil {
		return fmt.Errorf("epoll_ctl add: %w", err)
	}
	return nil
}

// loop reads until stop is set (and wake called). The epoll instance is
// level-triggered: one read per ready connection per pass keeps the
// connections fair.
func (rd *reader) loop(stop *atomic.Bool) error {
	events := make([]unix.EpollEvent, 512)
	for !stop.Load() {
		n, err := rd.wait(events)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // wake: look at stop
			}
			return err
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

// wait returns the ready events, parking in the runtime poller while there
// are none.
func (rd *reader) wait(events []unix.EpollEvent) (int, error) {
	var n int
	var werr error
	err := rd.raw.Read(func(fd uintptr) bool {
		n, werr = unix.EpollWait(int(fd), events, 0)
		if errors.Is(werr, unix.EINTR) {
			n, werr = 0, nil
		}
		return n > 0 || werr != nil
	})
	if err != nil {
		return 0, err
	}
	if werr != nil {
		return 0, fmt.Errorf("epoll_wait: %w", werr)
	}
	return n, nil
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
