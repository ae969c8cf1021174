package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file and its tests are Linux-only: the pool needs epoll and
// non-blocking writes on the raw socket. pool_other.go stands in elsewhere,
// where every stream keeps its handler goroutine (as with
// SSEGATE_WRITERS=-1).

// pool writes to hijacked HTTP/1.1 connections from a few worker goroutines
// instead of one goroutine per connection, and notices closed connections
// through one epoll instance. A connection then costs its queue and its
// socket, not a goroutine stack and net/http's per-connection buffers.
//
// A connection is owned by at most one goroutine at a time: it is idle, in
// the run queue, being written by a worker, or being flushed by a slow-path
// goroutine after the socket buffer filled. Only clients that cannot keep
// up ever get a goroutine of their own, and it ends with the write deadline.
type pool struct {
	s       *Server
	workers int
	queue   runQueue
	watch   *watcher
	wg      sync.WaitGroup // workers, watcher and slow flushes
}

func newPool(s *Server, workers int) (*pool, error) {
	w, err := newWatcher()
	if err != nil {
		return nil, err
	}
	return &pool{s: s, workers: workers, queue: runQueue{wake: make(chan struct{}, workers)}, watch: w}, nil
}

// handOff gives the hijacked connection nc of cn to the pool, which writes
// it from now on. It returns false, with the reason the stream ends, when
// the pool cannot take it; the caller then still owns nc and cn.
func (p *pool) handOff(cn *conn, nc net.Conn, log *slog.Logger) (string, bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok { // a listener that wraps its connections: the pool cannot write them
		log.Warn("hijacked connection has no socket; set SSEGATE_WRITERS=-1 for this listener", "type", fmt.Sprintf("%T", nc))
		return reasonError, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return reasonError, false
	}
	if err := nc.SetWriteDeadline(time.Time{}); err != nil { // the pool's writes do not wait
		return reasonNormal, false
	}
	cn.wire = &wire{nc: nc, raw: raw}
	if err := p.watch.add(cn); err != nil {
		log.Warn("cannot watch connection", "err", err)
		return reasonError, false
	}
	cn.adopt(p)
	return "", true
}

// schedule queues c for a worker; conn.wake calls it when no goroutine
// owns c.
func (p *pool) schedule(c *conn) { p.queue.push(c) }

// adopt hands the connection to the pool, which writes it from now on.
func (c *conn) adopt(p *pool) {
	c.mu.Lock()
	c.pool, c.owned = p, true
	c.mu.Unlock()
	p.queue.push(c)
}

// release gives up a pool worker's ownership, or queues the connection
// again when more work arrived while it was being written.
func (c *conn) release(p *pool) {
	c.mu.Lock()
	more := len(c.queue) > 0 || c.pingDue || c.closed || c.draining || c.expired
	if !more {
		c.owned = false
	}
	c.mu.Unlock()
	if more {
		p.queue.push(c)
	}
}

// run starts the workers and the watcher and waits for them after ctx ends.
func (p *pool) run(ctx context.Context) {
	for range p.workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			buf := make([]byte, 0, 64<<10)
			for {
				c := p.queue.pop(ctx)
				if c == nil {
					return
				}
				buf = p.serve(c, buf)
			}
		}()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.watch.run(ctx)
	}()
	<-ctx.Done()
	p.wg.Wait()
	// Nothing writes any more: a connection still open (idle, queued after
	// the workers left, or handed off just now) would keep its socket and
	// its place in the hub for ever. End them; add refuses new ones.
	for _, c := range p.watch.stop() {
		p.finish(c, reasonShutdown)
	}
	p.watch.close()
}

// chunkHeader is room reserved in front of a write for its chunk size line.
const chunkHeader = 10

// serve renders and writes what c has queued. buf is the worker's buffer.
func (p *pool) serve(c *conn, buf []byte) []byte {
	wk := c.take()
	if cap(buf) < chunkHeader {
		buf = make([]byte, 0, 64<<10)
	}
	buf = buf[:chunkHeader] // room for the chunk size line
	out, n, final := p.s.render(c, wk, buf)
	if final == reasonSlow {
		p.finish(c, final)
		return out
	}
	msg := frameChunk(out, final != "")
	if len(msg) == 0 {
		if final != "" {
			p.finish(c, final)
		} else {
			c.release(p)
		}
		return out
	}
	written, err := c.wire.tryWrite(msg)
	switch {
	case err != nil && !errors.Is(err, unix.EAGAIN):
		p.finish(c, p.s.writeFailed(c, err, n))
		return out
	case written < len(msg):
		c.wire.pending = append(c.wire.pending[:0], msg[written:]...)
		p.wg.Add(1)
		go p.flush(c, n, final)
		return out
	}
	c.lastWrite.Store(time.Now().UnixNano())
	p.s.metrics.Delivered.Add(float64(n))
	if final != "" {
		p.finish(c, final)
		return out
	}
	c.release(p)
	if cap(out) > 1<<20 {
		out = make([]byte, 0, 64<<10)
	}
	return out
}

// flush writes a connection's pending bytes with the send timeout; it is
// the slow path for a client whose socket buffer is full.
func (p *pool) flush(c *conn, n int, final string) {
	defer p.wg.Done()
	nc := c.wire.nc
	if err := armDeadline(c, nc, p.s.cfg.SendTimeout); err != nil {
		p.finish(c, reasonNormal)
		return
	}
	_, err := nc.Write(c.wire.pending)
	c.wire.pending = c.wire.pending[:0]
	if cap(c.wire.pending) > 64<<10 {
		c.wire.pending = nil
	}
	if err != nil {
		p.finish(c, p.s.writeFailed(c, err, n))
		return
	}
	// The non-blocking path must not see this deadline: a past deadline
	// fails every later write at once.
	if err := nc.SetWriteDeadline(time.Time{}); err != nil {
		p.finish(c, reasonNormal)
		return
	}
	c.lastWrite.Store(time.Now().UnixNano())
	p.s.metrics.Delivered.Add(float64(n))
	if final != "" {
		p.finish(c, final)
		return
	}
	c.release(p)
}

// finish ends a pooled connection for reason.
func (p *pool) finish(c *conn, reason string) {
	p.watch.remove(c)
	_ = c.wire.nc.Close()
	c.finish(reason)
}

// frameChunk wraps payload (which starts after chunkHeader reserved bytes)
// as one HTTP/1.1 chunk, and adds the last-chunk marker when final.
func frameChunk(buf []byte, final bool) []byte {
	payload := len(buf) - chunkHeader
	if payload == 0 {
		if final {
			return append(buf[:0], "0\r\n\r\n"...)
		}
		return buf[:0]
	}
	var hdr [chunkHeader]byte
	h := fmt.Appendf(hdr[:0], "%x\r\n", payload)
	start := chunkHeader - len(h)
	copy(buf[start:], h)
	buf = append(buf, '\r', '\n')
	if final {
		buf = append(buf, "0\r\n\r\n"...)
	}
	return buf[start:]
}

// wire is a hijacked connection's socket.
type wire struct {
	nc      net.Conn
	raw     syscall.RawConn
	key     uint64 // the watcher's key
	pending []byte // bytes a non-blocking write could not take
}

// tryWrite writes without waiting: it returns how much the socket took.
func (w *wire) tryWrite(b []byte) (int, error) {
	var n int
	var werr error
	err := w.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := unix.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			if e == unix.EINTR {
				continue
			}
			if e != nil {
				werr = e
				break
			}
			if m == 0 {
				break
			}
		}
		return true // never wait for writability here
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// runQueue is the workers' FIFO of connections with work.
type runQueue struct {
	mu    sync.Mutex
	items []*conn
	head  int
	wake  chan struct{}
}

func (q *runQueue) push(c *conn) {
	q.mu.Lock()
	if q.head > 0 && len(q.items) == cap(q.items) {
		// Reuse the popped front rather than growing: a queue that never
		// empties would otherwise grow with every push.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, c)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *runQueue) pop(ctx context.Context) *conn {
	for {
		q.mu.Lock()
		if q.head < len(q.items) {
			c := q.items[q.head]
			q.items[q.head] = nil
			q.head++
			if q.head == len(q.items) {
				q.items, q.head = q.items[:0], 0
			}
			q.mu.Unlock()
			return c
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

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
