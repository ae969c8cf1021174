package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// watcher reports hijacked connections whose peer closed, through one epoll
// instance, so no goroutine has to sit in Read for each of them.
type watcher struct {
	epfd    int
	mu      sync.Mutex
	next    uint64
	conns   map[uint64]*conn
	stopped bool // the pool stopped: add refuses connections
}

func newWatcher() (*watcher, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &watcher{epfd: fd, conns: make(map[uint64]*conn)}, nil
}

// errPoolStopped is add's answer once the pool has stopped.
var errPoolStopped = errors.New("writer pool stopped")

// add watches c. It holds the lock across the registration, so that stop
// never misses a connection nor races with its epoll registration.
func (w *watcher) add(c *conn) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return errPoolStopped
	}
	w.next++
	key := w.next
	c.wire.key = key
	var addErr error
	err := c.wire.raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(uint32(key)), Pad: int32(uint32(key >> 32))}
		addErr = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = addErr
	}
	if err != nil {
		return fmt.Errorf("epoll add: %w", err)
	}
	// Registered before it is findable: a peer close reported at once
	// waits on the lock and then finds the connection.
	w.conns[key] = c
	return nil
}

func (w *watcher) remove(c *conn) {
	w.mu.Lock()
	_, ok := w.conns[c.wire.key]
	delete(w.conns, c.wire.key)
	w.mu.Unlock()
	if !ok {
		return
	}
	_ = c.wire.raw.Control(func(fd uintptr) {
		_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	})
}

func (w *watcher) run(ctx context.Context) {
	events := make([]unix.EpollEvent, 256)
	for ctx.Err() == nil {
		n, err := unix.EpollWait(w.epfd, events, 200)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
				continue
			}
			key := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			w.mu.Lock()
			c := w.conns[key]
			w.mu.Unlock()
			if c != nil {
				c.close(reasonNormal)
			}
		}
	}
}

// stop makes add fail from now on and returns the connections still
// watched, forgetting them.
func (w *watcher) stop() []*conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	out := make([]*conn, 0, len(w.conns))
	for _, c := range w.conns {
		out = append(out, c)
	}
	clear(w.conns)
	return out
}

func (w *watcher) close() { _ = unix.Close(w.epfd) }
